"""Real artefacts the course made with its own toolchain (tests/data/artefacts, redone by
scripts/make_profile_artefacts.py; MADE.json says how each was made): Go's ``?debug=1`` text
profiles against the protobuf Go wrote from the same records and against what ``go tool pprof``
read from them (pprof.json), and goroutine dumps as a crash, ``kill -QUIT``, ``go run``, ``go
test -timeout`` and test output print them, against an independent count of their headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from strategies_profile import (
    ARTEFACT_DUMPS,
    ARTEFACT_PROFILES,
    ARTEFACT_TWINS,
    check_dump,
    check_race,
    check_text_equals_twin,
    check_text_profile,
    name_as_printed,
)

from labkit.profiles import Frame, load_profile

ART = Path(__file__).parent / "data" / "artefacts"
PPROF = json.loads((ART / "pprof.json").read_text())
MADE = json.loads((ART / "MADE.json").read_text())


def test_every_artefact_is_listed_with_how_it_was_made():
    listed = set(MADE["files"])
    present = {p.name for p in ART.iterdir()} - {"MADE.json", "pprof.json"}
    assert listed == present
    assert MADE["go"].startswith("go version go")
    assert all(p.stat().st_size < 30_000 for p in ART.iterdir())


# -- ?debug=1 text profiles ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ARTEFACT_PROFILES)
def test_text_profile_has_pprofs_sample_types_and_totals(name):
    """What `go tool pprof -raw` read from the same file: the same sample types (pprof's legacy
    parsers name them) and, per type, the same sum of sample values; the protobuf twin the rows
    of `go tool pprof -top`."""
    check_text_profile(ART, name)


@pytest.mark.parametrize("name", ARTEFACT_TWINS)
def test_text_profile_equals_the_protobuf_of_the_same_records(name):
    """Go wrote NAME-debug1.txt right after NAME.pb.gz from the same records. Read as pprof
    reads the text (heap: unsampled with scaleHeapSample from the ``@ heap/N`` rate; block and
    mutex: cycles turned into nanoseconds with ``cycles/second``) and named from its ``#`` frame
    lines, every function's flat and cum equal the protobuf's, for every sample type."""
    check_text_equals_twin(ART, name)
    expected = {"block": "block-debug1", "mutex": "mutex-debug1"}.get(name, "heap-debug1")
    assert load_profile(ART / f"{name}-debug1.txt").format == expected


def test_heap_text_is_unsampled_as_the_protobuf_is():
    """The header's ``@ heap/65536`` is twice MemProfileRate (32 KiB): values are divided by the
    probability that an allocation of the record's size was sampled, 1 - exp(-size / rate), so
    the in-use bytes are above the sampled ones the text prints."""
    raw = (ART / "heap-debug1.txt").read_text()
    assert raw.startswith("heap profile: ") and "@ heap/65536" in raw.splitlines()[0]
    printed = sum(int(m) for m in re.findall(r"^\d+: (\d+) \[", raw, re.M))
    p = load_profile(ART / "heap-debug1.txt")
    assert p.period == 32768
    assert p.total("inuse_space") > printed


def test_goroutine_text_is_the_protobuf_without_the_hidden_runtime_frames():
    """printStackRecord hides a record's leading runtime frames (runtime.gopark ...) and
    runtime.goexit; with those taken off the protobuf's stacks, the two agree stack for stack."""
    text = load_profile(ART / "goroutine-debug1.txt")
    proto = load_profile(ART / "goroutine.pb.gz")

    def hide(stack):
        frames = list(stack)
        while frames and frames[-1].startswith(("runtime.", "internal/runtime/")):
            frames.pop()
        return tuple(frames) or stack

    expected: dict[tuple[str, ...], int] = {}
    for stack, value in proto.stacks().items():
        expected[hide(stack)] = expected.get(hide(stack), 0) + value
    assert text.stacks() == expected


def test_threadcreate_frames_without_a_name_are_unknown_as_pprof_shows_them():
    """Go 1.27's threadcreate profile records threads started without a Go stack as PCs of 0
    (text: ``#\\t0x0``; protobuf: a Function with no name, no mapping); pprof shows that frame as
    ``<unknown>`` (graph.go NameComponents), and so do both readings."""
    raw = (ART / "threadcreate-debug1.txt").read_text()
    (zero_pcs,) = [int(n) for n in re.findall(r"^(\d+) @ 0x0 ", raw, re.M)]
    proto_top = PPROF["threadcreate.pb.gz"]["top"]["threadcreate"]
    proto = load_profile(ART / "threadcreate.pb.gz")
    assert proto.top(None) == [tuple(row) for row in proto_top]
    assert proto.top(1)[0][:2] == ("<unknown>", zero_pcs)
    text = load_profile(ART / "threadcreate-debug1.txt")
    assert text.stacks()[("<unknown>",)] == zero_pcs


def test_mutex_text_is_scaled_by_the_sampling_period_as_pprof_does():
    """parseContention multiplies by ``sampling period``; the artefact's is 1, so text and
    protobuf agree. With period 5 pprof (and labkit) read five times the contentions, though
    Go's runtime had already scaled its mutex records (mprof.go saveblockevent)."""
    raw = (ART / "mutex-debug1.txt").read_text()
    assert "sampling period=1\n" in raw
    base = load_profile(raw, name="mutex")
    five = load_profile(raw.replace("sampling period=1\n", "sampling period=5\n"), name="x")
    assert five.total("contentions") == 5 * base.total("contentions")


# -- goroutine dumps ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ARTEFACT_DUMPS)
def test_dump_goroutines_and_states_equal_an_independent_count(name):
    """Every ``goroutine N [state`` header in the text is one goroutine of the dump, with that
    state; nothing around the goroutines is taken for a skipped goroutine line."""
    check_dump(ART, name)


@pytest.mark.parametrize("name", ARTEFACT_DUMPS)
def test_dump_reads_the_same_with_crlf_line_ends(name):
    """A dump copied from a Windows terminal or a web form has ``\\r\\n`` line ends."""
    text = (ART / name).read_text()
    assert load_profile(text.replace("\n", "\r\n")).goroutines == load_profile(text).goroutines


def test_sigquit_crash_dump():
    """GOTRACEBACK=crash: one ``SIGQUIT: quit`` section per thread, each with its g0
    (``goroutine 0 ... [idle]``), headers with gp= m= mp=, frames with fp= sp= pc=, and the
    thread's registers right after its last frame, with no blank line between."""
    text = (ART / "sigquit-crash.txt").read_text()
    p = load_profile(text)
    assert text.count("SIGQUIT: quit") > 1
    assert re.search(r"pc=0x[0-9a-f]+\nrax ", text), "registers follow a frame directly"
    g0 = [g for g in p.goroutines if g.id == 0]
    assert len(g0) == text.count("SIGQUIT: quit")
    main = next(g for g in p.goroutines if g.id == 1)
    assert any(a.startswith("gp=0x") for a in main.annotations)
    assert main.stack[-1] == "runtime.gopark" and main.stack[0] == "runtime.goexit"
    assert main.frames[-1].file.endswith("src/runtime/proc.go")
    assert all("rax" not in f.function for g in p.goroutines for f in g.frames)


def test_sigquit_deep_recursion_elides_frames():
    """More than 100 frames: the runtime prints the first 50 and the last 50, and
    ``...N frames elided...`` between (traceback.go traceback1, tracebackInnerFrames)."""
    text = (ART / "sigquit-deep.txt").read_text()
    n = int(re.search(r"^\.\.\.(\d+) frames elided\.\.\.$", text, re.M).group(1))
    (deep,) = [g for g in load_profile(text).goroutines if "main.recurse" in g.stack]
    assert deep.frames_elided == n
    assert deep.stack.count("main.recurse") == 121 - n


def test_go_run_panic_with_a_goroutine_running_on_another_thread():
    """``go run`` prints the program's traceback and then ``exit status 2``; a goroutine running
    on another thread has no stack to print (traceback.go tracebackothers), only its
    ``created by`` frame."""
    text = (ART / "go-run-panic.txt").read_text()
    assert text.rstrip().endswith("exit status 2")
    p = load_profile(text)
    (spinning,) = [g for g in p.goroutines if g.stack_unavailable]
    assert spinning.state == "running" and spinning.frames == ()
    assert spinning.created_by.function == "main.main" and spinning.created_by_goroutine == 1
    locked = [g for g in p.goroutines if g.locked_to_thread]
    assert [g.state for g in locked] == ["chan receive"]


def test_go_test_timeout_dump_followed_by_the_fail_line():
    text = (ART / "go-test-timeout.txt").read_text()
    assert re.search(r"^FAIL\t\S+\t2\.\d+s$", text, re.M)
    p = load_profile(text)
    assert "testing.(*M).startAlarm.func1" in p.goroutines[0].stack
    assert p.goroutines[0].created_by == Frame(
        "time.goFunc", p.goroutines[0].created_by.file, p.goroutines[0].created_by.line
    )


def test_dump_quoted_in_test_output_is_read_at_its_indentation():
    """``t.Logf`` output indents every line of the message under the test's name."""
    text = (ART / "go-test-log.txt").read_text()
    assert re.search(r"^ {8}goroutine \d+ \[running\]:$", text, re.M)
    p = load_profile(text)
    running = p.goroutines[0]
    assert running.stack[-1] == "labkit.local/artefacts/logdump.TestLogDump"
    assert running.frames[-1].file.startswith("/")
    assert running.frames[-1].file.endswith("/scripts/artefacts/logdump/logdump_test.go")


def test_cgo_frames():
    """A goroutine blocked in C: ``runtime.cgocall`` under ``main._Cfunc_block_in_c``, whose
    file is cgo's generated ``_cgo_gotypes.go``."""
    p = load_profile(ART / "cgo-sigquit.txt")
    (in_c,) = [g for g in p.goroutines if "main._Cfunc_block_in_c" in g.stack]
    assert in_c.stack[-2:] == ("main._Cfunc_block_in_c", "runtime.cgocall")
    cfunc = next(f for f in in_c.frames if f.function == "main._Cfunc_block_in_c")
    assert cfunc.file == "_cgo_gotypes.go"


def test_race_reports_one_goroutine_per_access():
    """``go run -race``: two reports, each of two accesses; the first access of each is the
    goroutine that found the race, the second (``Previous``) the other; the main goroutine's is
    goroutine 1, which has no creation section (state unknown); the others were created by
    main.main at their go statements."""
    check_race(ART, "go-run-race.txt")
    p = load_profile(ART / "go-run-race.txt")
    assert len(p.goroutines) == 4 and p.total() == 4
    main = next(g for g in p.goroutines if g.id == 1)
    assert (main.state, main.stack, main.created_by) == ("unknown", ("main.main",), None)
    others = [g for g in p.goroutines if g.id != 1]
    assert {g.created_by.function for g in others} == {"main.main"}
    assert {g.stack[-1] for g in others} == {"main.bump", "main.set"}


def test_detect_format_names_what_load_profile_reads():
    """detect_format decides from the first bytes alone what the full read finds."""
    from labkit.profiles import FORMATS, detect_format

    for path in sorted(ART.iterdir()):
        if path.suffix == ".json":
            continue
        fmt = load_profile(path).format
        assert detect_format(path.read_bytes()) == fmt, path.name
        assert fmt in FORMATS


def test_a_generic_function_is_named_as_each_format_names_it():
    """The text's '#' lines print a generic function's type arguments as ``[...]``; the
    protobuf keeps the shape. The twin check above holds only because it names the protobuf's
    functions as the text prints them: compared raw, the heap pair differs."""
    text = load_profile(ART / "heap-debug1.txt")
    proto = load_profile(ART / "heap.pb.gz")
    text_names = {fn for fn, _, _ in text.top(None, "alloc_space")}
    proto_names = {fn for fn, _, _ in proto.top(None, "alloc_space")}
    assert "main.allocGeneric[...]" in text_names
    assert "main.allocGeneric[go.shape.int64]" in proto_names
    assert text.top(None, "alloc_space") != proto.top(None, "alloc_space")


@pytest.mark.parametrize(
    ("symbol", "printed"),
    [
        ("main.work", "main.work"),
        ("sync.OnceValue[go.shape.*uint8]", "sync.OnceValue[...]"),
        ("main.F[go.shape.int64,go.shape.string]", "main.F[...]"),
        ("main.F[go.shape.[]int]", "main.F[...]"),  # brackets balanced inside: one group
        ("main.(*T[go.shape.int]).M[go.shape.string]", "main.(*T[...]).M[...]"),
        ("main.F[go.shape.int].func1", "main.F[...].func1"),
        ("main.F]x[", "main.F]x["),  # no ']' after the '[': printed whole
        ("main.F[a]]b[c]", "main.F[a]]b[c]"),  # malformed "...]...]": printed whole
    ],
)
def test_name_as_printed_mirrors_the_runtimes_func_name_for_print(symbol, printed):
    assert name_as_printed(symbol) == printed
