"""Data race reports, as the race detector prints them (``go run -race``, ``go test -race``).

The Go runtime's race detector is ThreadSanitizer (src/runtime/race); each report stands between
lines of ``=`` and reads::

    WARNING: DATA RACE
    Write at 0x00000060c2a0 by goroutine 9:
      main.set()
          /src/main.go:22 +0x44
    ...
    Previous read at 0x00000060c2a0 by main goroutine:
      main.main()
          /src/main.go:31 +0x14b

    Goroutine 9 (running) created at:
      main.main()
          /src/main.go:30 +0x13e

Each access (``Read``/``Write``, ``Previous read``/``Previous write``, ``Atomic`` ones too) is
one goroutine of the result, with its stack (root first, as everywhere here), the access in
its annotations (``"write at 0x00000060c2a0"``, ``"previous read at ..."``), and, from the
``Goroutine N (running|finished) created at:`` section of the same report, its state and the
``go`` statement that created it. The main goroutine is goroutine 1 and has no such section:
its state is ``"unknown"``. panicparse reads these reports the same way (stack/context.go's race
states).
"""

from __future__ import annotations

import re

from labkit.profiles.errors import ProfileError
from labkit.profiles.goroutines import function_name
from labkit.profiles.model import Frame, Goroutine, Profile, Stack, _Meta

_WARNING = "WARNING: DATA RACE"
_ACCESS = re.compile(
    r"^(?P<previous>Previous )?(?P<op>(?:[Aa]tomic )?(?:[Rr]ead|[Ww]rite))(?: of size \d+)? "
    r"at (?P<addr>0x[0-9a-f]+) by (?:goroutine (?P<id>\d+)|(?P<main>main goroutine)):$"
)
_CREATED = re.compile(r"^Goroutine (?P<id>\d+) \((?P<state>running|finished)\) created at:$")
_FILE = re.compile(r"^(?P<file>.+?):(?P<line>\d++)(?: \+0x[0-9a-f]+)?$")


def is_race_report(text: str) -> bool:
    """True when the text holds a race report with at least one access."""
    return _WARNING in text and any(_ACCESS.match(line.strip()) for line in text.split("\n"))


def _reports(lines: list[str]) -> list[list[tuple[re.Match[str], list[Frame]]]]:
    """Each report's access and creation headers, with the frames under each (leaf first)."""
    reports: list[list[tuple[re.Match[str], list[Frame]]]] = []
    sections: list[tuple[re.Match[str], list[Frame]]] | None = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line == _WARNING:
            sections = []
            reports.append(sections)
            continue
        if sections is None:
            continue
        if line and set(line) == {"="}:
            sections = None
            continue
        header = _ACCESS.match(line) or _CREATED.match(line)
        if header:
            sections.append((header, []))
            continue
        following = lines[i].strip() if i < len(lines) else ""
        where = _FILE.match(following)
        if sections and line.endswith(")") and where:
            frame = Frame(function_name(line), where.group("file"), int(where.group("line")))
            sections[-1][1].append(frame)
            i += 1
    return reports


def parse_races(text: str, source: str) -> Profile:
    """One Goroutine per access of every race report in text (see the module docstring)."""
    lines = [line.rstrip() for line in text.split("\n")]
    goroutines: list[Goroutine] = []
    for report in _reports(lines):
        created = {
            int(h.group("id")): (h.group("state"), frames[0] if frames else None)
            for h, frames in report
            if h.re is _CREATED
        }
        for access, frames in report:
            if access.re is not _ACCESS:
                continue
            gid = 1 if access.group("main") else int(access.group("id"))
            state, creator = created.get(gid, ("unknown", None))
            previous = "previous " if access.group("previous") else ""
            what = f"{previous}{access.group('op').lower()} at {access.group('addr')}"
            goroutines.append(
                Goroutine(
                    id=gid,
                    state=state,
                    frames=tuple(reversed(frames)),
                    created_by=creator,
                    annotations=(what,),
                )
            )
    if not goroutines:
        raise ProfileError(
            source,
            "holds 'WARNING: DATA RACE' but no 'Read/Write at 0x... by goroutine N:' line",
            "Pass the whole report, as the race detector printed it",
        )
    stacks: dict[Stack, tuple[int]] = {}
    for g in goroutines:
        stacks[g.stack] = (stacks[g.stack][0] + 1,) if g.stack in stacks else (1,)
    meta = _Meta(source=source, format="race-report", goroutines=tuple(goroutines))
    return Profile(stacks, [("access", "count")], None, meta)
