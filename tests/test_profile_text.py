"""Text formats: folded stacks and Go's goroutine dumps (?debug=2 and ?debug=1)."""

from __future__ import annotations

import pytest

from labkit.profiles import Frame, ProfileError, detect_format, load_profile

DEBUG2 = b"""\
goroutine 1 [running]:
main.main()
\t/src/main.go:20 +0x1d

goroutine 7 [chan receive, 3 minutes, locked to thread]:
main.(*Server).wait(0xc000010000, {0x4a, 0x2})
\t/src/server.go:41 +0x45
main.worker(...)
\t/src/main.go:12
created by main.main in goroutine 1
\t/src/main.go:18 +0x6f

goroutine 8 [IO wait]:
internal/poll.runtime_pollWait(0x7f, 0x72)
\t/go/src/runtime/netpoll.go:351 +0x85
main.worker(...)
\t/src/main.go:12
created by main.main in goroutine 1
\t/src/main.go:18 +0x6f

goroutine 9 [IO wait, 12 minutes]:
internal/poll.runtime_pollWait(0x7f, 0x72)
\t/go/src/runtime/netpoll.go:351 +0x85
main.worker(...)
\t/src/main.go:12
created by main.main
\t/src/main.go:18 +0x6f
"""


def test_debug2_goroutines_are_read_exactly():
    """runtime.goroutineheader: state (the wait reason when waiting), ", N minutes" from one
    minute on, ", locked to thread"; frames two lines each, leaf first in the dump; "created by
    F in goroutine N" (Go >= 1.21; older dumps have no "in goroutine")."""
    p = load_profile(DEBUG2, name="dump.txt")
    assert p.format == "goroutine-debug2"
    g = {g.id: g for g in p.goroutines}
    assert [x.id for x in p.goroutines] == [1, 7, 8, 9]
    assert (g[7].state, g[7].wait_minutes, g[7].locked_to_thread) == ("chan receive", 3, True)
    assert g[7].frames == (
        Frame("main.worker", "/src/main.go", 12),
        Frame("main.(*Server).wait", "/src/server.go", 41),
    )
    assert g[7].created_by == Frame("main.main", "/src/main.go", 18)
    assert g[7].created_by_goroutine == 1
    assert (g[9].state, g[9].wait_minutes, g[9].created_by_goroutine) == ("IO wait", 12, None)
    assert (g[1].state, g[1].created_by) == ("running", None)


def test_debug2_states_and_stacks():
    """goroutine_states counts goroutines per state, most first; stacks count goroutines."""
    p = load_profile(DEBUG2)
    assert p.goroutine_states() == {"IO wait": 2, "chan receive": 1, "running": 1}
    assert p.stacks() == {
        ("main.main",): 1,
        ("main.worker", "main.(*Server).wait"): 1,
        ("main.worker", "internal/poll.runtime_pollWait"): 2,
    }
    assert p.sample_types == [("goroutine", "count")]


def test_debug2_after_a_panic_message():
    """A crash dump starts with the panic; the goroutines follow."""
    text = b"panic: boom\n\n" + DEBUG2
    assert load_profile(text).goroutine_states()["IO wait"] == 2


def test_debug2_header_extras():
    """GOTRACEBACK=system / crash headers add gp=, m= (traceback.go goroutineheader); labels
    follow the ']' when tracebacklabels is on; the other parts ("synctest bubble 1") and gp=, m=
    are kept as annotations."""
    text = (
        b"goroutine 5 gp=0xc000007c00 m=nil [select, synctest bubble 1] {k=v}:\n"
        b"main.f()\n\t/src/f.go:3 +0x1\n"
    )
    (g,) = load_profile(text).goroutines
    assert (g.id, g.state, g.annotations, g.labels) == (
        5,
        "select",
        ("synctest bubble 1", "gp=0xc000007c00", "m=nil"),
        "{k=v}",
    )


def test_debug2_cut_after_a_function_line_keeps_the_frame_and_says_so():
    """A dump cut between a frame's function line and its file line: the frame is kept without
    a file, and the profile notes where the dump was cut."""
    p = load_profile(b"goroutine 1 [running]:\nmain.main()\n", name="cut.txt")
    (g,) = p.goroutines
    assert g.frames == (Frame("main.main", "", 0),)
    assert p.notes == [
        "goroutine 1: the frame 'main.main()' has no file:line line (the dump is cut short)"
    ]


DEBUG1 = b"""\
goroutine profile: total 4
3 @ 0x48300a 0x4152ee 0x4f3415 0x489281
#\t0x4f3414\tmain.wait+0x14\t\t/src/main.go:118
#\t0x4f3500\tmain.worker+0x20\t/src/main.go:90

1 @ 0x443171 0x4f4465
# labels: {"role":"main"}
#\t0x4f4464\tmain.main+0x44\t/src/main.go:20
"""


def test_debug1_counts_per_stack():
    """runtime/pprof printCountProfile: "N @ pcs" then frames leaf first, tab-aligned."""
    p = load_profile(DEBUG1)
    assert p.format == "goroutine-debug1"
    assert p.stacks() == {("main.worker", "main.wait"): 3, ("main.main",): 1}
    assert p.top(None) == [
        ("main.wait", 3, 3),
        ("main.main", 1, 1),
        ("main.worker", 0, 3),
    ]


def test_debug1_has_no_states():
    """printCountProfile groups by stack only: no state to report."""
    with pytest.raises(ProfileError, match="records no goroutine states.*debug=2"):
        load_profile(DEBUG1).goroutine_states()


def test_debug1_total_that_does_not_add_up_is_noted():
    """pprof's parseGoCount ignores the header's total; labkit reads the records too, and notes
    that the text was cut or edited."""
    p = load_profile(DEBUG1.replace(b"total 4", b"total 5"))
    assert p.total() == 4
    assert p.notes == [
        "the header says total 5 but the records add up to 4: the text is truncated or edited"
    ]
    assert load_profile(DEBUG1).notes == []


FOLDED = b"main;work;helper 30\nmain;rec;rec 20\n\nmain 10\nmain;work;helper 5\n"


def test_folded_stacks_are_summed():
    """flamegraph.pl input: root first, ';'-joined, the count last; repeats summed."""
    p = load_profile(FOLDED)
    assert p.format == "folded"
    assert p.stacks() == {
        ("main", "work", "helper"): 35,
        ("main", "rec", "rec"): 20,
        ("main",): 10,
    }
    assert p.sample_types == [("samples", "count")]
    assert detect_format(FOLDED) == "folded"


def test_folded_frames_may_hold_spaces():
    """The count is the last field: everything before the last space is the stack."""
    p = load_profile(b"java.lang.Thread.run;do work (inlined) 7\n")
    assert p.stacks() == {("java.lang.Thread.run", "do work (inlined)"): 7}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"main;work 3\nmain;work x\n", "line 2 ends in 'x', not a count"),
        (b"main;work 3\nmain;;work 3\n", "line 2 has an empty frame name"),
        (b"main;work 3\n-1\n", "line 2 has no 'stack count' pair"),
    ],
)
def test_folded_errors_name_the_line(text, problem):
    with pytest.raises(ProfileError, match=problem):
        load_profile(text)


def test_text_with_a_newline_is_read_as_content_not_as_a_path():
    """A pasted goroutine dump (a str) loads directly; a path never contains a newline."""
    from labkit.profiles import load_profile

    dump = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d\n"
    p = load_profile(dump)
    assert p.source == "<text>" and p.goroutine_states() == {"running": 1}
