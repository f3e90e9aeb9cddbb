"""Bad input raises ProfileError naming the source, the problem and what to do; nothing else
escapes. The checks are google/pprof's (profile.go CheckValid, encode.go postDecode)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies_profile import gz, lfield, pprof, recorded, simple_cpu_profile, vfield

from labkit.profiles import Profile, ProfileError, load_profile


def error_of(source, **kwargs) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load_profile(source, **kwargs)
    return info.value


def test_profile_error_is_a_value_error():
    """Callers that catch ValueError keep working."""
    assert issubclass(ProfileError, ValueError)


def test_missing_file(tmp_path):
    err = error_of(tmp_path / "nope.pprof")
    assert str(tmp_path / "nope.pprof") in str(err)
    assert "no such file" in str(err)


def test_directory(tmp_path):
    err = error_of(tmp_path)
    assert "is a directory" in str(err) and str(tmp_path) in str(err)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pprof"
    path.write_bytes(b"")
    err = error_of(path)
    assert "empty" in str(err) and "empty.pprof" in str(err)


def test_not_a_path_nor_bytes():
    err = error_of(12345)
    assert "cannot load a profile from a int" in str(err)


def test_truncated_gzip():
    """A download cut short: the gzip stream has no end marker."""
    data = gz(simple_cpu_profile())
    err = error_of(data[: len(data) // 2], name="cut.pb.gz")
    assert str(err).startswith("cut.pb.gz: the gzip stream is truncated")


def test_corrupt_gzip():
    data = bytearray(gz(simple_cpu_profile()))
    data[12] ^= 0xFF
    assert "gzip" in str(error_of(bytes(data)))


def test_random_bytes_are_not_a_profile():
    err = error_of(bytes(range(256)) * 4)
    assert "<bytes>" in str(err) and "not a valid pprof profile" in str(err)


def test_string_index_out_of_range():
    """postDecode: every string index must be inside the string table."""
    strings = ["", "samples", "count"]
    data = pprof(strings, [(1, 2)], [([1], [1])], [(1, [1])], [(1, 40)])
    err = error_of(data, name="bad.pprof")
    assert "string index 40 but the string table has 3 entries" in str(err)
    assert str(err).startswith("bad.pprof: ")


def test_sample_with_wrong_number_of_values():
    """CheckValid: each sample has one value per sample type."""
    strings = ["", "samples", "count", "cpu", "nanoseconds", "main.f"]
    data = pprof(strings, [(1, 2), (3, 4)], [([1], [1])], [(1, [1])], [(1, 5)])
    err = error_of(data)
    assert "sample 0 has 1 value(s) but the profile declares 2 sample type(s)" in str(err)


def test_huge_varint():
    """A varint longer than 10 bytes cannot be a 64-bit number."""
    data = simple_cpu_profile(extra=vfield(99, 0)[:-1] + b"\xff" * 11 + b"\x01")
    assert "longer than 10 bytes" in str(error_of(data))


def test_varint_over_64_bits():
    data = simple_cpu_profile(extra=b"\xc8\x06" + b"\xff" * 9 + b"\x7f")
    assert "does not fit in 64 bits" in str(error_of(data))


def test_length_beyond_the_end():
    # field 98 claims 80 bytes at the very end
    data = simple_cpu_profile(extra=b"\xc2\x06\x50abc", strings_first=True)
    assert "claims 80 bytes but only 3 remain" in str(error_of(data))


def test_missing_location():
    """CheckValid: a sample's location ids must exist."""
    strings = ["", "samples", "count", "main.f"]
    data = pprof(strings, [(1, 2)], [([7], [1])], [(1, [1])], [(1, 3)])
    assert "sample 0 refers to location 7, which is not there" in str(error_of(data))


def test_missing_function():
    strings = ["", "samples", "count", "main.f"]
    data = pprof(strings, [(1, 2)], [([1], [1])], [(1, [9])], [(1, 3)])
    assert "location 1 has a line of function 9, which is not there" in str(error_of(data))


def test_duplicate_and_zero_ids():
    strings = ["", "samples", "count", "main.f"]
    twice = pprof(strings, [(1, 2)], [([1], [1])], [(1, [1]), (1, [1])], [(1, 3)])
    assert "two locations have id 1" in str(error_of(twice))
    zero = pprof(strings, [(1, 2)], [([1], [1])], [(1, [1])], [(0, 3)])
    assert "id 0" in str(error_of(zero))


def test_string_table_must_start_empty():
    strings = ["oops", "samples", "count", "main.f"]
    data = pprof(strings, [(1, 2)], [([1], [1])], [(1, [1])], [(1, 3)])
    assert "string_table[0] must be the empty string" in str(error_of(data))


def test_no_sample_types():
    data = lfield(6, b"") + lfield(6, b"x")
    assert "declares no sample types" in str(error_of(data))


def test_unknown_default_sample_type():
    strings = ["", "samples", "count", "main.f"]
    data = pprof(strings, [(1, 2)], [([1], [1])], [(1, [1])], [(1, 3)], default_sample_type=3)
    assert "default_sample_type 'main.f' is not one of its sample types" in str(error_of(data))


def test_wrong_wire_type():
    """Group wire types (3, 4) and invalid ones (6, 7) are refused."""
    data = simple_cpu_profile(extra=b"\xcb\x06")  # field 105, wire type 3
    assert "invalid wire type 3" in str(error_of(data))


def test_json_is_refused_with_a_reason():
    err = error_of(b'{"$schema": "https://www.speedscope.app/file-format-schema.json"}')
    assert "is JSON" in str(err)


def test_text_that_is_no_format_says_what_was_expected_and_found_in_text_terms():
    """Text input is not told about protobuf wire types: the message names the text formats
    looked for and quotes the first line."""
    err = error_of(b"hello world\nthis is not a profile\n", name="notes.txt")
    assert str(err).startswith("notes.txt: is text in none of the formats labkit reads")
    assert "'goroutine N [state]:'" in str(err) and "'heap profile: ...'" in str(err)
    assert "its first line is 'hello world'" in str(err)
    assert "wire type" not in str(err) and "offset" not in str(err)


def test_bad_requests_name_the_problem():
    p = load_profile(simple_cpu_profile(), name="cpu.pprof")
    with pytest.raises(ProfileError, match="cpu.pprof: this profile has no sample type 'inuse'"):
        p.top(5, "inuse")
    with pytest.raises(ProfileError, match="n must be None or an int >= 0"):
        p.top(-1)
    with pytest.raises(ProfileError, match="records no goroutine states"):
        p.goroutine_states()
    with pytest.raises(ProfileError, match="sample type 'cpu' is in nanoseconds here"):
        p.diff(Profile.from_stacks({("a",): 1}, [("cpu", "count")]))


# -- fuzzing: whatever the bytes, only ProfileError ------------------------------------------


def check_loads_or_raises_profile_error(data: bytes) -> None:
    try:
        p = load_profile(data)
    except ProfileError as exc:
        assert str(exc).startswith("<bytes>: ")
        return
    # What loads must be usable.
    p.top(None)
    p.total()


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REAL = gzip.decompress(recorded("cpu.pb.gz"))


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_raise_only_profile_error(data):
    """Random input (also as the body of a gzip stream) never escapes as another exception."""
    check_loads_or_raises_profile_error(data)
    check_loads_or_raises_profile_error(gz(data))


@FUZZ
@given(st.integers(min_value=0, max_value=len(REAL)))
def test_truncated_real_profile_raises_only_profile_error(cut):
    """Every prefix of a real Go CPU profile, raw and gzip."""
    check_loads_or_raises_profile_error(REAL[:cut])
    check_loads_or_raises_profile_error(recorded("cpu.pb.gz")[: cut % len(recorded("cpu.pb.gz"))])


@FUZZ
@given(st.integers(min_value=0, max_value=len(REAL) - 1), st.integers(1, 255))
def test_mutated_real_profile_raises_only_profile_error(at, flip):
    """Single-byte mutations of a real Go CPU profile."""
    data = bytearray(REAL)
    data[at] ^= flip
    check_loads_or_raises_profile_error(bytes(data))


@FUZZ
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=len(REAL)))
def test_inserted_bytes_raise_only_profile_error(junk, at):
    check_loads_or_raises_profile_error(REAL[:at] + junk + REAL[at:])


ARTEFACTS = Path(__file__).parent / "data" / "artefacts"
TEXTS = [
    (ARTEFACTS / name).read_bytes()
    for name in ("heap-debug1.txt", "mutex-debug1.txt", "goroutine-debug1.txt", "go-run-panic.txt")
]


@FUZZ
@given(st.integers(0, len(TEXTS) - 1), st.integers(min_value=0), st.binary(max_size=8))
def test_mutated_real_text_profiles_raise_only_profile_error(which, at, junk):
    """Go's ?debug=1 text and a real dump with bytes overwritten anywhere, or cut there."""
    data = TEXTS[which]
    at %= len(data) + 1
    check_loads_or_raises_profile_error(data[:at] + junk + data[at + len(junk) :])
    check_loads_or_raises_profile_error(data[:at])


@FUZZ
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=40), st.booleans())
def test_legacy_cpu_header_then_random_words_raise_only_profile_error(words, big_endian):
    """A legacy CPU profile header (legacy_profile.go parseCPU) followed by any words."""
    order = ">" if big_endian else "<"
    data = struct.pack(f"{order}5Q", 0, 3, 0, 100, 0)
    data += b"".join(struct.pack(f"{order}Q", w) for w in words)
    check_loads_or_raises_profile_error(data)
