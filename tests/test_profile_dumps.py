"""The goroutine-dump reader on the runtime's special lines and on generated dumps.

The real dumps (SIGQUIT, go run, go test -timeout, test output, cgo) are in
test_profile_artefacts.py; here each special line is shown on its own, with the runtime code
that prints it, and hypothesis checks that a dump is read whole wherever and however it stands.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies_profile import dump_goroutines, dump_noise, render_dump

from labkit.profiles import Frame, ProfileError, load_profile


def one(text: str):
    (g,) = load_profile(text).goroutines
    return g


def test_cgo_and_assembly_frames_without_a_tab():
    """Go before 1.5 printed frames it had no file for as `` ??:0 +0x6d`` (one space, no tab);
    panicparse's corpus keeps such dumps."""
    g = one(
        "goroutine 1 [running]:\n"
        "github.com/cockroachdb/cockroach/storage/engine._Cfunc_DBIterSeek()\n"
        " ??:0 +0x6d\n"
        "main.main()\n"
        "\t/src/main.go:12 +0x27\n"
    )
    assert g.frames == (
        Frame("main.main", "/src/main.go", 12),
        Frame("github.com/cockroachdb/cockroach/storage/engine._Cfunc_DBIterSeek", "??", 0),
    )


def test_space_indented_file_lines_of_older_runtimes():
    g = one("goroutine 3 [chan send]:\nmain.f(0x1)\n        /src/f.go:7 +0x1\n")
    assert g.frames == (Frame("main.f", "/src/f.go", 7),)


def test_elided_frames_before_and_since_go_1_21():
    """traceback.go: ``...N frames elided...`` since Go 1.21; before, ``...additional frames
    elided...`` with no number (-1)."""
    frames = "main.r()\n\t/r.go:1 +0x1\n"
    assert (
        one(f"goroutine 1 [running]:\n{frames}...26 frames elided...\n{frames}").frames_elided == 26
    )
    old = one(f"goroutine 1 [running]:\n{frames}...additional frames elided...\n{frames}")
    assert old.frames_elided == -1 and len(old.frames) == 2


def test_stack_unavailable_and_created_by():
    g = one(
        "goroutine 22 [running]:\n"
        "\tgoroutine running on other thread; stack unavailable\n"
        "created by main.main in goroutine 1\n"
        "\t/src/main.go:60 +0x29a\n"
    )
    assert g.stack_unavailable and g.frames == ()
    assert (g.created_by, g.created_by_goroutine) == (Frame("main.main", "/src/main.go", 60), 1)


def test_ancestor_frames_are_not_the_goroutines_own():
    """GODEBUG=tracebackancestors=N prints ``[originating from goroutine N]:`` and the creator's
    frames after a goroutine's own (traceback.go printAncestorTraceback)."""
    g = one(
        "goroutine 6 [running]:\nmain.f()\n\t/f.go:1 +0x1\n"
        "created by main.g in goroutine 5\n\t/g.go:2 +0x2\n"
        "[originating from goroutine 5]:\nmain.g(...)\n\t/g.go:2 +0x2\n"
    )
    assert g.stack == ("main.f",) and g.created_by.function == "main.g"


def test_cgo_symbolizer_frames():
    """With runtime.SetCgoTraceback, C frames print as a name (or ``non-Go function``) and a
    ``\\tpc=0x...`` line (traceback.go printOneCgoTraceback)."""
    g = one("goroutine 1 [syscall]:\nnon-Go function\n\tpc=0x7f12\nmain.main()\n\t/m.go:3 +0x1\n")
    assert g.stack == ("main.main", "non-Go function")


def test_unreadable_header_and_orphan_file_line_are_counted_as_skipped():
    """A line that starts like a header but is cut, and a file line without a function, are
    counted: a goroutine is never dropped without a word."""
    p = load_profile(
        "goroutine 1 [running]:\nmain.main()\n\t/m.go:3 +0x1\n\n"
        "goroutine 2 [chan rec\n"
        "goroutine 3 [select]:\n\t/orphan.go:9 +0x1\nmain.s()\n\t/s.go:1 +0x1\n"
    )
    assert [g.id for g in p.goroutines] == [1, 3]
    assert (p.skipped_lines, p.first_skipped_line) == (2, "goroutine 2 [chan rec")
    assert p.goroutines[1].stack == ("main.s",)


def test_two_dumps_in_one_text_keep_every_goroutine():
    dump = "goroutine 1 [running]:\nmain.main()\n\t/m.go:3 +0x1\n"
    p = load_profile("first\n" + dump + "\nsecond\n" + dump)
    assert [g.id for g in p.goroutines] == [1, 1]


def test_text_without_any_goroutine_header():
    with pytest.raises(ProfileError, match="is text in none of the formats"):
        load_profile("panic: boom\n\nexit status 2\n", name="out.txt")


@settings(max_examples=150, deadline=None)
@given(
    dump_goroutines,
    st.sampled_from(["", "    ", "        ", "\t"]),
    dump_noise,
    dump_noise,
    st.sampled_from(["\n", "\r\n"]),
)
def test_a_dump_is_read_whole_wherever_it_stands(goroutines, indent, before, after, newline):
    """Whatever text stands around it, however it is indented, with either line end: every
    goroutine, its state, frames (root first) and creator, and nothing skipped."""
    p = load_profile(render_dump(goroutines, indent, before, after, newline))
    got = [(g.id, g.state, list(g.stack), g.created_by is not None) for g in p.goroutines]
    assert got == [(gid, s, frames, created) for gid, s, frames, created in goroutines]
    assert p.skipped_lines == 0


@settings(max_examples=150, deadline=None)
@given(dump_goroutines, st.data())
def test_a_cut_dump_keeps_every_goroutine_whose_header_survives(goroutines, data):
    """Cut anywhere (a copy-paste that stops short): each header that is still whole is one
    goroutine, and nothing but ProfileError (no header left at all) is raised."""
    text = render_dump(goroutines)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    prefix = text[:cut]
    whole = sum(
        1 for line in prefix.split("\n") if line.startswith("goroutine ") and line.endswith("]:")
    )
    try:
        p = load_profile(prefix, name="cut")
    except ProfileError:
        assert whole == 0
        return
    assert len(p.goroutines) == whole


def test_a_dump_cut_after_its_first_header_is_text_not_a_file_name():
    """A one-line str with no newline is a path unless no such file exists and the line can only
    be a profile's text: the header of a dump cut right after it (found by course.py explore,
    seeds 3397531792, 155873324, 3021247510: it was read as a missing file)."""
    p = load_profile("goroutine 10000 [sleep]:", name="cut")
    assert [(g.id, g.state) for g in p.goroutines] == [(10000, "sleep")]
    with pytest.raises(ProfileError, match="no such file"):
        load_profile("goroutine.txt")


def test_long_runs_of_blanks_and_digits_are_plain_text():
    """Lines no runtime prints (100,000 blanks before a word; a 100,000-digit line number) end
    the goroutine's block or are skipped like any other; the reader's patterns never look past
    such a run twice (before trailing blanks were cut off, the first took a minute)."""
    p = load_profile("goroutine 1 [running]:\n" + " " * 100_000 + "x\n")
    assert [(g.id, g.frames) for g in p.goroutines] == [(1, ())]
    p = load_profile("goroutine 1 [running]:\nf()\n\t/a.go:" + "1" * 100_000 + "x\n")
    assert p.goroutines[0].frames == ()  # "f()" has no file line after it: not a frame


def test_a_dump_after_a_race_report_notes_the_report():
    """``go test -race`` output can hold race reports and then a panic's dump: the dump is read,
    and the profile says where the reports can be read."""
    race = (
        "==================\nWARNING: DATA RACE\nWrite at 0x00c000014100 by goroutine 8:\n"
        "  main.w()\n      /m.go:3 +0x3a\n\nPrevious read at 0x00c000014100 by main goroutine:\n"
        "  main.main()\n      /m.go:9 +0x1\n==================\n"
    )
    dump = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/m.go:10 +0x1d\n"
    p = load_profile(race + dump)
    assert [g.id for g in p.goroutines] == [1]
    assert "race detector reports" in p.notes[0]
    from labkit.profiles.races import parse_races

    assert [g.annotations for g in parse_races(race + dump, "x").goroutines] == [
        ("write at 0x00c000014100",),
        ("previous read at 0x00c000014100",),
    ]
