"""Each event as the text ``go tool trace -d=parsed`` prints, without a Go toolchain.

``parsed_dump(source)`` is that tool's output, character for character: one event per
``Event.String()`` (src/internal/trace/event.go) and a newline, as debugProcessedEvents in
src/cmd/trace/main.go prints them. It is how the tests hold this package to Go's own parser, and
it lets a learner grep a trace where no toolchain is installed. One difference by design: a
Sync event's wall-clock time is printed in UTC, where the tool uses the local time zone (the
tests run it with TZ=UTC).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Any

from labkit.traces import spec as s
from labkit.traces.events import KIND, event_stack, range_of, state_transition
from labkit.traces.order import read_events
from labkit.traces.wire import Generation, Malformed

_METRIC = {
    s.EV_PROCS_CHANGE: "/sched/gomaxprocs:threads",
    s.EV_HEAP_ALLOC: "/memory/classes/heap/objects:bytes",
    s.EV_HEAP_GOAL: "/gc/heap/goal:bytes",
}
_NO_TASK = (1 << 64) - 1


def go_quote(text: str) -> str:
    """strconv.Quote for the strings a trace holds (printable text, escapes for the rest)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\ufffd":
            out.append("\\ufffd")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _frames(g: Generation, stack_id: int) -> str:
    return "".join(
        f"\t{func} @ {pc:#x}\n\t\t{file}:{line}\n" for pc, func, file, line in g.frames(stack_id)
    )


def _wall(sec: int, nsec: int) -> str:
    """time.Unix(sec, nsec).Format(time.RFC3339Nano) in UTC (trailing zeros dropped)."""
    t = _dt.datetime.fromtimestamp(sec, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nsec:
        t += "." + f"{nsec:09d}".rstrip("0")
    return t + "Z"


def format_event(ev: tuple) -> str:
    """Event.String() of one event from ``labkit.traces.order.read_events``."""
    typ, time, m, p, gid, a0, a1, a2, a3, g = ev
    kind = KIND[typ]
    out = [f"M={m} P={p} G={gid} {kind} Time={time}"]
    if kind == "Metric":
        out.append(f" Name={go_quote(_METRIC[typ])} Value=Value{{Uint64({a0})}}")
    elif kind == "Label":
        out.append(f" Label={go_quote(g.string(a0))} Resource=Goroutine({gid})")
    elif kind.startswith("Range"):
        name, scope, sid = range_of(ev)
        scope = scope if scope == "None" else f"{scope}({sid})"
        out.append(f" Name={go_quote(name)} Scope={scope}")
        if kind == "RangeEnd":
            attrs = ""
            if typ == s.EV_GC_SWEEP_END:
                attrs = (
                    f'"bytes swept"=Value{{Uint64({a0})}} "bytes reclaimed"=Value{{Uint64({a1})}}'
                )
            out.append(f" Attributes=[{attrs}]")
    elif kind == "TaskBegin":
        out.append(f" ID={a0} Parent={a1} Type={go_quote(g.string(a2))}")
    elif kind == "TaskEnd":
        name = g.extra_strings[a3 - 1] if a3 else ""
        out.append(f" ID={a0} Parent={a2} Type={go_quote(name)}")
    elif kind.startswith("Region"):
        out.append(f" Task={a0} Type={go_quote(g.string(a1))}")
    elif kind == "Log":
        out.append(f" Task={a0} Category={go_quote(g.string(a1))} Message={go_quote(g.string(a2))}")
    elif kind == "StateTransition":
        res, rid, old, new, reason, tstack = state_transition(ev)
        names = s.GO_STATE_NAMES if res == "Goroutine" else s.PROC_STATE_NAMES
        label = "GoID" if res == "Goroutine" else "ProcID"
        out.append(f" {label}={rid} {names[old]}->{names[new]} Reason={go_quote(reason)}")
        if tstack is not None:
            out.append("\nTransitionStack=\n" + _frames(g, tstack))
    elif kind == "Experimental":
        spec = s.SPECS[typ]
        vals = (a0, a1, a2, a3)
        parts = [f"{name}=Value{{Uint64({vals[i]})}}" for i, name in enumerate(spec.args[1:])]
        out.append(f" Name={spec.name} Args=[{', '.join(parts)}]")
    elif kind == "Sync":
        out.append(f" N={a0}")
        if g is not None and g.has_clock:
            out.append(
                f" Trace={g.mul(g.snap_time)} Mono={g.snap_mono} "
                f"Wall={_wall(g.snap_sec, g.snap_nsec)}"
            )
    stack = event_stack(ev)
    if stack:
        out.append("\nStack=\n" + _frames(g, stack))
    return "".join(out)


def dump_lines(events: Iterator[tuple]) -> Iterator[str]:
    """``format_event`` of each event, each followed by a newline (fmt.Println)."""
    for ev in events:
        yield format_event(ev) + "\n"


def parsed_dump(source: Any) -> str:
    """What ``go tool trace -d=parsed`` prints for the trace at ``source`` (a path, bytes or a
    binary file object), without Go: one ``Event.String()`` per event, each followed by a
    newline. Raises TraceError (labkit.traces.load) as ``load_trace`` does."""
    from labkit.traces.load import checked_bytes, malformed_error

    data, label, version = checked_bytes(source)
    try:
        return "".join(dump_lines(read_events(data, version)))
    except Malformed as exc:
        raise malformed_error(exc, label, len(data)) from None
