"""Go's text goroutine profiles: the ``?debug=2`` dump and the ``?debug=1`` counts.

``?debug=2`` is runtime.Stack(all=true) (runtime/pprof writeGoroutineStacks), the same text as a
crash traceback: blocks separated by blank lines, each a header from runtime.goroutineheader
(src/runtime/traceback.go)::

    goroutine 7 [chan receive, 3 minutes, locked to thread]:
    main.worker(0xc000010000, 0x1)
    \t/src/main.go:23 +0x45
    created by main.main in goroutine 1
    \t/src/main.go:12 +0x6f

``?debug=1`` is runtime/pprof.printCountProfile: ``goroutine profile: total N``, then for each
distinct stack ``count @ pc pc ...`` and its frames as ``#\\tpc\\tfunc+off\\tfile:line``, leaf
first, with leading runtime frames and runtime.goexit hidden (printStackRecord). It records no
goroutine states.
"""

from __future__ import annotations

import re

from labkit.profile.errors import ProfileError
from labkit.profile.model import Frame, Goroutine, Profile, Stack, _Meta

_HEADER = re.compile(
    r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[([^\]]*)\](?: (\{.*\}))?:\s*$"
)
_FILE_LINE = re.compile(r"^\t(.+):(\d+)(?: .*)?$")
_CREATED_BY = re.compile(r"^created by (.+?)(?: in goroutine (\d+))?$")
_MINUTES = re.compile(r"^(\d+) minutes?$")
_ELIDED = "...additional frames elided..."

_COUNT_HEADER = re.compile(r"^(\w+) profile: total (\d+)\s*$")
_COUNT_RECORD = re.compile(r"^(\d+) @((?: 0x[0-9a-f]+)*)\s*$")
_COUNT_FRAME = re.compile(r"^#\s+(0x[0-9a-f]+)(?:\s+(\S+?)\+0x[0-9a-f]+\s+(.+):(\d+))?\s*$")

_DEBUG2_HINT = "Expected the text of /debug/pprof/goroutine?debug=2 (runtime.Stack(buf, true))"
_DEBUG1_HINT = "Expected the text of /debug/pprof/goroutine?debug=1"


def is_debug2(text: str) -> bool:
    """True when some line is a goroutine header (a dump may start with a panic message)."""
    return any(_HEADER.match(line) for line in text.splitlines()[:200])


def is_debug1(text: str) -> bool:
    """True when the text starts like ``goroutine profile: total N``."""
    first = text.lstrip().split("\n", 1)[0]
    return bool(_COUNT_HEADER.match(first))


def _function_name(line: str) -> str:
    """``main.(*T).Run(0xc000, {0x1, 0x2})`` -> ``main.(*T).Run``: drop the trailing argument
    list (runtime.printFuncName then printArgs), matching the parentheses from the right, since
    a method's receiver also has them."""
    line = line.rstrip()
    if not line.endswith(")"):
        return line
    depth = 0
    for i in range(len(line) - 1, -1, -1):
        if line[i] == ")":
            depth += 1
        elif line[i] == "(":
            depth -= 1
            if depth == 0:
                return line[:i] or line
    return line


def _file_line(line: str, where: str, source: str) -> tuple[str, int]:
    match = _FILE_LINE.match(line)
    if not match:
        raise ProfileError(
            source, f"{where}: expected '\\tfile:line +0x..', found {line!r}", _DEBUG2_HINT
        )
    return match.group(1), int(match.group(2))


def parse_debug2(text: str, source: str) -> Profile:
    """Read a ``?debug=2`` dump: one Goroutine per block; stacks valued 1 per goroutine."""
    lines = text.splitlines()
    goroutines: list[Goroutine] = []
    i = 0
    # Skip what comes before the first goroutine (a panic message in a crash dump).
    while i < len(lines) and not _HEADER.match(lines[i]):
        i += 1
    if i == len(lines):
        raise ProfileError(source, "no 'goroutine N [state]:' line found", _DEBUG2_HINT)
    while i < len(lines):
        line = lines[i].rstrip("\r")
        if not line.strip():
            i += 1
            continue
        header = _HEADER.match(line)
        if not header:
            raise ProfileError(
                source,
                f"line {i + 1}: expected 'goroutine N [state]:', found {line!r}",
                _DEBUG2_HINT,
            )
        gid = int(header.group(1))
        parts = [p.strip() for p in header.group(2).split(",")]
        state, minutes, locked, annotations = parts[0], 0, False, []
        for part in parts[1:]:
            m = _MINUTES.match(part)
            if m:
                minutes = int(m.group(1))
            elif part == "locked to thread":
                locked = True
            elif part:
                annotations.append(part)
        frames: list[Frame] = []
        created_by: Frame | None = None
        parent: int | None = None
        i += 1
        while i < len(lines) and lines[i].strip():
            line = lines[i].rstrip("\r")
            where = f"line {i + 1} (goroutine {gid})"
            if line.startswith("\t") or line == _ELIDED:
                if line == _ELIDED:
                    i += 1
                    continue
                raise ProfileError(
                    source, f"{where}: a file:line without a function before it", _DEBUG2_HINT
                )
            if i + 1 >= len(lines):
                raise ProfileError(
                    source, f"{where}: the dump ends before the frame's file:line", _DEBUG2_HINT
                )
            file, lineno = _file_line(lines[i + 1].rstrip("\r"), where, source)
            created = _CREATED_BY.match(line)
            if created:
                created_by = Frame(created.group(1), file, lineno)
                parent = int(created.group(2)) if created.group(2) else None
            else:
                frames.append(Frame(_function_name(line), file, lineno))
            i += 2
        goroutines.append(
            Goroutine(
                id=gid,
                state=state,
                wait_minutes=minutes,
                locked_to_thread=locked,
                frames=tuple(reversed(frames)),
                created_by=created_by,
                created_by_goroutine=parent,
                annotations=tuple(annotations),
                labels=header.group(3) or "",
            )
        )
    stacks: dict[Stack, tuple[int]] = {}
    for g in goroutines:
        stack = g.stack
        stacks[stack] = (stacks[stack][0] + 1,) if stack in stacks else (1,)
    meta = _Meta(source=source, format="goroutine-debug2", goroutines=tuple(goroutines))
    return Profile(stacks, [("goroutine", "count")], None, meta)


def parse_debug1(text: str, source: str) -> Profile:
    """Read a ``?debug=1`` count profile (goroutine, threadcreate): stacks with their counts."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    header = _COUNT_HEADER.match(lines[i]) if i < len(lines) else None
    if not header:
        raise ProfileError(source, "no 'NAME profile: total N' first line", _DEBUG1_HINT)
    name, total = header.group(1), int(header.group(2))
    stacks: dict[Stack, int] = {}
    i += 1
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line.strip():
            continue
        record = _COUNT_RECORD.match(line)
        if not record:
            raise ProfileError(
                source, f"line {i}: expected 'COUNT @ 0x...', found {line!r}", _DEBUG1_HINT
            )
        count = int(record.group(1))
        leaf_first: list[str] = []
        while i < len(lines) and lines[i].startswith("#"):
            line = lines[i].rstrip("\r")
            i += 1
            if line.startswith("# labels:"):
                continue
            frame = _COUNT_FRAME.match(line)
            if not frame:
                raise ProfileError(
                    source,
                    f"line {i}: expected '#\\tpc\\tfunction+off\\tfile:line', found {line!r}",
                    _DEBUG1_HINT,
                )
            # An unsymbolized PC is printed alone (printStackRecord); name it by the PC.
            leaf_first.append(frame.group(2) or frame.group(1))
        stack = tuple(reversed(leaf_first))
        stacks[stack] = stacks.get(stack, 0) + count
    found = sum(stacks.values())
    if found != total:
        raise ProfileError(
            source,
            f"the header says total {total} but the records add up to {found}",
            "The text is truncated or edited; fetch the profile again",
        )
    meta = _Meta(source=source, format=f"{name}-debug1")
    return Profile({s: (v,) for s, v in stacks.items()}, [(name, "count")], None, meta)
