"""Goroutine dumps as the runtime and the go command print them.

A dump is what runtime.Stack(buf, true) writes (``/debug/pprof/goroutine?debug=2``), what a
crash, a ``kill -QUIT`` or a ``go test -timeout`` prints, and what test output quotes: blocks of
one header from runtime.goroutineheader (src/runtime/traceback.go) and the goroutine's frames::

    goroutine 7 gp=0xc000007c00 m=nil [chan receive, 3 minutes, locked to thread]:
    main.worker(0xc000010000, 0x1)
    \t/src/main.go:23 +0x45 fp=0xc00004e7d0 sp=0xc00004e7b0 pc=0x4a5c11
    ...26 frames elided...
    created by main.main in goroutine 1
    \t/src/main.go:12 +0x6f

The reader takes the goroutines wherever they are in a text and keeps what it can read:

* text before, between and after the goroutines (the panic message, ``SIGQUIT: quit``, the
  signal's register listing, ``exit status 2`` from ``go run``, ``FAIL pkg 2.0s`` from ``go
  test``) is not part of any goroutine and is passed over;
* a dump indented as a whole (quoted in test output, under a log prefix) is read at the header's
  indentation; ``\\r\\n`` line ends are read like ``\\n``;
* the runtime's special lines are understood: ``gp= m= mp=`` in the header (GOTRACEBACK=system
  and crash), ``fp= sp= pc=`` after a frame, ``goroutine running on other thread; stack
  unavailable`` (traceback.go tracebackothers), ``...N frames elided...`` (more than 100 frames;
  ``...additional frames elided...`` before Go 1.21), ``created by F in goroutine N`` (the ``in
  goroutine`` part since Go 1.21), ``[originating from goroutine N]:`` ancestors
  (GODEBUG=tracebackancestors, passed over), and frames whose file line is indented with spaces
  or has no tab (cgo and assembly frames ``\\x20??:0 +0x6d`` of older runtimes);
* a line that is neither a frame nor one of those ends a goroutine's block; a line that looks
  like a goroutine header but cannot be read, or a file line with no function above it, is
  *skipped* and counted (:attr:`Profile.skipped_lines`, :attr:`Profile.first_skipped_line`), so
  that no goroutine is dropped without a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.profiles.errors import ProfileError
from labkit.profiles.model import Frame, Goroutine, Profile, Stack, _Meta

_HEADER = re.compile(
    r"^(?P<indent>[ \t]*)goroutine (?P<id>\d+)(?P<extra>(?: (?:gp|m|mp)=\S+)*) "
    r"\[(?P<status>[^\]]*)\](?: (?P<labels>\{.*\}))?:$"
)
#: Anything that starts like a header: a line matching this but not _HEADER is skipped, loudly.
_HEADER_LIKE = re.compile(r"goroutine \d+(?: (?:gp|m|mp)=\S+)* \[")
_FILE_LINE = re.compile(
    r"^(?:\t| ++)(?P<file>.+?):(?P<line>\d++)(?: \+0x[0-9a-f]+)?"
    r"(?: fp=0x[0-9a-f]+ sp=0x[0-9a-f]+)?(?: pc=0x[0-9a-f]+)?$"
)
#: A cgo symbolizer's frame without a file (traceback.go printOneCgoTraceback).
_PC_ONLY = re.compile(r"^\tpc=0x[0-9a-f]+$")
_CREATED_BY = re.compile(r"^created by (?P<function>.+?)(?: in goroutine (?P<parent>\d+))?$")
_ELIDED = re.compile(r"^\.\.\.(?:(?P<n>\d+)|additional) frames elided\.\.\.$")
_UNAVAILABLE = re.compile(r"^(?:\t| ++)goroutine running on other thread; stack unavailable$")
_ANCESTOR = re.compile(r"^\[originating from goroutine \d+\]:$")
_FUNCTION_CALL = re.compile(r"^\S.*\)$")
_MINUTES = re.compile(r"^(\d+) minutes?$")

_HINT = (
    "Expected a goroutine dump: 'goroutine N [state]:' headers, each followed by its frames "
    "(runtime.Stack(buf, true), /debug/pprof/goroutine?debug=2, or a crash / SIGQUIT traceback)"
)


def is_dump(text: str) -> bool:
    """True when some line of text is a goroutine header."""
    return any(_HEADER.match(line.rstrip()) for line in text.split("\n"))


def function_name(line: str) -> str:
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


@dataclass
class _Block:
    """A goroutine being read."""

    id: int
    state: str
    minutes: int
    locked: bool
    annotations: list[str]
    labels: str
    indent: str
    frames: list[Frame] = field(default_factory=list)
    created_by: Frame | None = None
    parent: int | None = None
    unavailable: bool = False
    elided: int = 0
    in_ancestor: bool = False

    def goroutine(self) -> Goroutine:
        return Goroutine(
            id=self.id,
            state=self.state,
            wait_minutes=self.minutes,
            locked_to_thread=self.locked,
            frames=tuple(reversed(self.frames)),
            created_by=self.created_by,
            created_by_goroutine=self.parent,
            annotations=tuple(self.annotations),
            labels=self.labels,
            stack_unavailable=self.unavailable,
            frames_elided=self.elided,
        )


def _open(match: re.Match[str]) -> _Block:
    """A block from a header: state first, then ", N minutes", ", locked to thread", others."""
    parts = [p.strip() for p in match.group("status").split(", ")]
    minutes, locked, annotations = 0, False, []
    for part in parts[1:]:
        m = _MINUTES.match(part)
        if m:
            minutes = int(m.group(1))
        elif part == "locked to thread":
            locked = True
        elif part:
            annotations.append(part)
    annotations += match.group("extra").split()
    return _Block(
        id=int(match.group("id")),
        state=parts[0],
        minutes=minutes,
        locked=locked,
        annotations=annotations,
        labels=match.group("labels") or "",
        indent=match.group("indent"),
    )


class _Reader:
    """One pass over the lines; see the module docstring for what it does with each."""

    def __init__(self, text: str) -> None:
        # Trailing blanks (and the \r of \r\n) carry nothing; without them no pattern below
        # has to look past a run of spaces, which would make it backtrack.
        self.lines = [line.rstrip() for line in text.split("\n")]
        self.goroutines: list[Goroutine] = []
        self.skipped = 0
        self.first_skipped = ""
        self.notes: list[str] = []

    def skip(self, line: str) -> None:
        if not self.skipped:
            self.first_skipped = line
        self.skipped += 1

    def file_at(self, i: int, indent: str) -> re.Match[str] | None:
        """The file line at index i, if it is one (inside a block of that indent)."""
        if i >= len(self.lines) or not self.lines[i].startswith(indent):
            return None
        return _FILE_LINE.match(self.lines[i][len(indent) :])

    def read(self) -> None:
        i, block = 0, None
        while i < len(self.lines):
            line = self.lines[i]
            if block is None:
                header = _HEADER.match(line)
                if header:
                    block = _open(header)
                elif _HEADER_LIKE.search(line):
                    self.skip(line)
                i += 1
                continue
            body = line[len(block.indent) :] if line.startswith(block.indent) else None
            if body is None and line.strip():
                block = self.close(block)  # dedented: the text around the dump goes on
                continue
            i, block = self.step(block, body or "", i)
        if block is not None:
            self.close(block)

    def step(self, block: _Block, body: str, i: int) -> tuple[int, _Block | None]:
        """Read the line at i (``body``: without the block's indent) inside a block."""
        if not body.strip():
            return i + 1, self.close(block)
        header = _HEADER.match(self.lines[i])
        if header:
            self.close(block)
            return i + 1, _open(header)
        if _UNAVAILABLE.match(body):
            block.unavailable = True
            return i + 1, block
        elided = _ELIDED.match(body)
        if elided:
            block.elided = int(elided.group("n")) if elided.group("n") else -1
            return i + 1, block
        if _ANCESTOR.match(body):
            block.in_ancestor = True
            return i + 1, block
        file = self.file_at(i + 1, block.indent)
        created = _CREATED_BY.match(body)
        if created:
            if not block.in_ancestor:
                where = (file.group("file"), int(file.group("line"))) if file else ("", 0)
                block.created_by = Frame(created.group("function"), *where)
                parent = created.group("parent")
                block.parent = int(parent) if parent else None
            return i + (2 if file else 1), block
        if _FILE_LINE.match(body) or _PC_ONLY.match(body):
            self.skip(self.lines[i])  # a file line with no function above it
            return i + 1, block
        nxt = self.lines[i + 1][len(block.indent) :] if i + 1 < len(self.lines) else ""
        if file or _PC_ONLY.match(nxt):
            if not block.in_ancestor:
                where = (file.group("file"), int(file.group("line"))) if file else ("", 0)
                block.frames.append(Frame(function_name(body), *where))
            return i + 2, block
        if _FUNCTION_CALL.match(body) and not nxt.strip():
            # A frame whose file line is missing: the dump was cut right after it.
            block.frames.append(Frame(function_name(body)))
            self.notes.append(
                f"goroutine {block.id}: the frame {body.strip()!r} has no file:line line "
                "(the dump is cut short)"
            )
            return i + 1, block
        # Not part of the goroutine (exit status 2, FAIL pkg 2.0s, a register listing ...).
        return i, self.close(block)

    def close(self, block: _Block) -> None:
        """Keep the goroutine read so far; returns None, the new current block."""
        self.goroutines.append(block.goroutine())


def parse_dump(text: str, source: str) -> Profile:
    """Read every goroutine of a dump; stacks valued 1 per goroutine."""
    reader = _Reader(text)
    reader.read()
    if not reader.goroutines:
        raise ProfileError(source, "no 'goroutine N [state]:' line found", _HINT)
    stacks: dict[Stack, tuple[int]] = {}
    for g in reader.goroutines:
        stack = g.stack
        stacks[stack] = (stacks[stack][0] + 1,) if stack in stacks else (1,)
    if "WARNING: DATA RACE" in text:
        reader.notes.append(
            "the text also holds race detector reports, which are not goroutines of the dump: "
            "read them with labkit.profiles.races.parse_races(text, name)"
        )
    meta = _Meta(
        source=source,
        format="goroutine-debug2",
        goroutines=tuple(reader.goroutines),
        notes=tuple(reader.notes),
        skipped_lines=reader.skipped,
        first_skipped_line=reader.first_skipped,
    )
    return Profile(stacks, [("goroutine", "count")], None, meta)
