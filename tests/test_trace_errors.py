"""Anything that is not a Go 1.22+ execution trace: a TraceError that says what it is and what
to do, never an exception from inside the reader."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.traces import Trace, TraceError, load_trace, parsed_dump

DATA = Path(__file__).parent / "data"
TRACES = DATA / "traces"
TRACE = (TRACES / "cpuhogs.trace").read_bytes()
OLD_FORMAT = (TRACES / "cpuhogs-go1.22.trace").read_bytes()


def _error(source, **kw) -> TraceError:
    with pytest.raises(TraceError) as info:
        load_trace(source, **kw)
    err = info.value
    # Raised "from None": no parser internals chained to what the learner sees.
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    return err


def test_a_pprof_profile_points_to_load_profile():
    err = _error(DATA / "profiles" / "cpu.pb.gz")
    assert "pprof profile" in str(err) and "labkit.profiles.load_profile" in str(err)
    assert str(err).startswith(str(DATA / "profiles" / "cpu.pb.gz"))


def test_an_uncompressed_pprof_profile_too():
    raw = gzip.decompress((DATA / "profiles" / "cpu.pb.gz").read_bytes())
    assert "load_profile" in str(_error(raw))


def test_a_goroutine_dump_is_a_profile_not_a_trace():
    err = _error(DATA / "profiles" / "goroutine-debug2.txt")
    assert "load_profile" in str(err)


def test_a_trace_of_go_1_21_says_record_it_again_with_1_22():
    err = _error(TRACES / "cpuhogs-go1.21.trace")
    assert "recorded with Go 1.21 or older" in str(err)
    assert "Record it again with Go 1.22 or newer" in str(err)


def test_an_unknown_newer_format_is_refused_by_name():
    err = _error(b"go 1.99 trace\x00\x00\x00" + TRACE[16:])
    assert "go 1.99" in str(err) and "newer" in str(err)


def test_a_gzipped_trace_says_decompress_it():
    err = _error(gzip.compress(TRACE))
    assert "gzip-compressed execution trace" in str(err) and "gunzip" in str(err)


def test_other_gzip_data():
    assert "gzip-compressed data" in str(_error(gzip.compress(b"\x00\x01 not a trace")))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b"hello, trace\n", "is text"),
        (b'{"traceEvents": []}', "JSON"),
        (
            b'M=1 P=0 G=-1 StateTransition Time=5 GoID=1 Runnable->Running Reason=""\n',
            "go tool trace -d=parsed",
        ),
    ],
)
def test_text_is_named_as_such(text, says):
    assert says in str(_error(text))


def test_empty_input():
    assert "is empty (0 bytes)" in str(_error(b""))


def test_binary_that_is_no_trace():
    err = _error(bytes(range(256)) * 4)
    assert "does not begin with 'go 1.N trace'" in str(err)


@pytest.mark.parametrize("cut", [17, 40, 100, len(TRACE) // 2, len(TRACE) - 1])
def test_a_truncated_trace_says_where_it_stops(cut):
    err = _error(TRACE[:cut])
    assert "is truncated" in str(err)
    assert f"the file has {cut} bytes" in str(err)
    assert "stops" in str(err) and "Record it again" in str(err)


def test_a_go_1_22_format_trace_cut_inside_a_batch_is_truncated_too():
    err = _error(OLD_FORMAT[: len(OLD_FORMAT) - 5])
    assert "is truncated" in str(err)


def test_a_damaged_batch_header():
    data = bytearray(TRACE)
    data[16] = 0x7F  # the first batch's header byte is no batch type
    err = _error(bytes(data))
    assert "is damaged at byte 16" in str(err) and "expected a batch header" in str(err)


@settings(max_examples=150)
@given(st.data())
def test_any_cut_or_damage_is_a_trace_error_or_a_trace(data):
    """Cut anywhere, or bytes overwritten anywhere: a TraceError or (when the damage happens to
    keep the trace well-formed) a Trace; never another exception."""
    raw = bytearray(OLD_FORMAT if data.draw(st.booleans()) else TRACE)
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    for _ in range(data.draw(st.integers(0, 3))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        trace = load_trace(bytes(raw))
    except TraceError as err:
        # The learner's message, not the reader's internals: raised "from None", naming the
        # source, and saying what to do (record it again, or read it with its own Go).
        assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
        message = str(err)
        assert message.startswith("<bytes>: ")
        # (damage can leave bytes that parse as a pprof profile: then it says to read it as one)
        advice = ("Record", "go tool trace", "labkit.profiles.load_profile")
        assert any(a in message for a in advice), message
    else:
        assert isinstance(trace, Trace)


def test_parsed_dump_refuses_what_load_trace_refuses():
    with pytest.raises(TraceError, match="is truncated"):
        parsed_dump(TRACE[:100])


def test_paths_that_are_no_file(tmp_path):
    assert "no such file" in str(_error(tmp_path / "missing.out"))
    assert "is a directory" in str(_error(tmp_path))


def test_a_file_object_in_text_mode(tmp_path):
    path = tmp_path / "t.out"
    path.write_bytes(TRACE)
    with open(path, encoding="latin-1") as f:
        assert "binary mode" in str(_error(f))
    with open(path, "rb") as f:
        assert load_trace(f).source == str(path)


def test_bytes_and_file_objects_load_like_paths():
    by_path = load_trace(TRACES / "cpuhogs.trace")
    for source in (TRACE, bytearray(TRACE), memoryview(TRACE), io.BytesIO(TRACE)):
        assert load_trace(source).summary().split(":", 1)[1] == by_path.summary().split(":", 1)[1]


def test_name_overrides_the_source():
    assert load_trace(TRACE, name="mine.trace").source == "mine.trace"
    assert str(_error(b"", name="mine.trace")).startswith("mine.trace:")


@pytest.mark.parametrize("source", [12, None, ["trace.out"], "two\nlines"])
def test_sources_that_are_neither_path_bytes_nor_file(source):
    assert "trace" in str(_error(source))


def test_an_unknown_profile_kind_lists_the_kinds():
    tr = load_trace(TRACE)
    with pytest.raises(TraceError, match="sched, sync, syscall, net"):
        tr.to_profile("block")
