"""The pprof decoder on tiny hand-built profile.proto messages with exactly known contents."""

from __future__ import annotations

from strategies_profile import gz, lfield, pprof, simple_cpu_profile, varint, vfield

from labkit.profiles import detect_format, load_profile

EXPECTED_STACKS = {
    ("main.main", "main.work", "main.helper"): 30_000_000,
    ("main.main", "main.rec", "main.rec"): 20_000_000,
    ("main.main",): 10_000_000,
}


def test_stacks_are_root_first_with_inlined_frames_expanded():
    """profile.proto: Sample.location_id is leaf first, and a Location with several Lines is
    inlining, Line[0] the innermost callee. Root first, main.helper (inlined into main.work)
    comes after main.work."""
    p = load_profile(simple_cpu_profile())
    assert p.stacks("cpu") == EXPECTED_STACKS
    assert p.stacks("samples") == {stack: v // 10_000_000 for stack, v in EXPECTED_STACKS.items()}


def test_default_sample_type_is_the_last_when_unset():
    """profile.proto: default_sample_type unset means the last sample type (what Go's CPU
    profiles rely on: cpu/nanoseconds after samples/count)."""
    p = load_profile(simple_cpu_profile())
    assert p.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert p.default_sample_type == "cpu"
    assert p.total() == 60_000_000
    assert p.total("samples") == 6


def test_default_sample_type_when_set():
    """default_sample_type is a string index naming one of the sample types."""
    p = load_profile(simple_cpu_profile(default_sample_type=1))
    assert p.default_sample_type == "samples"
    assert p.total() == 6


def test_period_and_period_type():
    """Go's CPU profile: period_type cpu/nanoseconds, period 10 ms (100 Hz, SIGPROF)."""
    p = load_profile(simple_cpu_profile())
    assert p.period == 10_000_000
    assert p.period_type == ("cpu", "nanoseconds")
    assert p.format == "pprof"


def test_top_counts_recursion_once_per_sample():
    """pprof -top (graph.go newGraph, seenNode): main.rec twice in one stack still adds the
    sample's value once to its cum; flat goes to the leaf. Sorted by flat, then name."""
    p = load_profile(simple_cpu_profile())
    assert p.top(None) == [
        ("main.helper", 30_000_000, 30_000_000),
        ("main.rec", 20_000_000, 20_000_000),
        ("main.main", 10_000_000, 60_000_000),
        ("main.work", 0, 30_000_000),
    ]
    assert p.top(2) == p.top(None)[:2]


def test_gzip_and_raw_decode_the_same():
    """runtime/pprof writes gzip; `go tool pprof -proto` output and other tools may not."""
    raw = simple_cpu_profile()
    assert load_profile(gz(raw)).stacks() == load_profile(raw).stacks()
    assert detect_format(gz(raw)) == detect_format(raw) == "pprof"


def test_field_order_and_packing_do_not_matter():
    """Protobuf fields may come in any order and repeated scalars packed or not; Go writes the
    string table last, other writers first."""
    variants = [
        simple_cpu_profile(strings_first=True),
        simple_cpu_profile(packed_ids=False),
        simple_cpu_profile(packed_ids=False, strings_first=True),
    ]
    for data in variants:
        assert load_profile(data).stacks() == EXPECTED_STACKS


def test_unknown_fields_are_skipped():
    """Like any protobuf reader: unknown fields (here 99 varint, 98 bytes, 97 fixed64, 96
    fixed32) are skipped."""
    extra = vfield(99, 7) + lfield(98, b"xyz") + varint(97 << 3 | 1) + bytes(8)
    extra += varint(96 << 3 | 5) + bytes(4)
    assert load_profile(simple_cpu_profile(extra=extra)).stacks() == EXPECTED_STACKS


def test_negative_values_are_ten_byte_varints():
    """int64 values below zero take 10 bytes (two's complement); diff profiles have them."""
    strings = ["", "delta", "count", "main.f"]
    data = pprof(strings, [(1, 2)], [([1], [-5]), ([1], [2])], [(1, [1])], [(1, 3)])
    assert len(varint(-5)) == 10
    p = load_profile(data)
    assert p.stacks() == {("main.f",): -3}
    assert p.top(None) == [("main.f", -3, -3)]


def test_empty_stack_counts_in_total_but_not_in_top():
    """A sample may have no locations (pprof allows it): in the total, no function gets it."""
    strings = ["", "samples", "count", "main.f"]
    data = pprof(strings, [(1, 2)], [([], [4]), ([1], [1])], [(1, [1])], [(1, 3)])
    p = load_profile(data)
    assert p.stacks() == {(): 4, ("main.f",): 1}
    assert p.total() == 5
    assert p.top(None) == [("main.f", 1, 1)]


def test_samples_with_equal_stacks_are_summed():
    """Two locations of one function (different lines) give the same stack of names; pprof's
    functions granularity merges them too."""
    strings = ["", "samples", "count", "main.f", "main.g"]
    data = pprof(
        strings,
        [(1, 2)],
        [([1, 3], [1]), ([2, 3], [2])],
        [(1, [1]), (2, [1]), (3, [2])],
        [(1, 3), (2, 4)],
    )
    assert load_profile(data).stacks() == {("main.g", "main.f"): 3}


def test_zero_valued_stacks_are_left_out():
    """graph.go newGraph skips samples whose value is 0 (freed memory in inuse_space)."""
    strings = ["", "alloc_space", "bytes", "inuse_space", "main.f", "main.g"]
    data = pprof(
        strings,
        [(1, 2), (3, 2)],
        [([1], [100, 0]), ([2], [50, 50])],
        [(1, [1]), (2, [2])],
        [(1, 4), (2, 5)],
    )
    p = load_profile(data)
    assert p.stacks("inuse_space") == {("main.g",): 50}
    assert p.top(None, "inuse_space") == [("main.g", 50, 50)]
    assert p.stacks("alloc_space") == {("main.f",): 100, ("main.g",): 50}


def test_sample_type_by_index_like_sample_index():
    """`go tool pprof -sample_index` takes a name or an index; so does sample_type."""
    p = load_profile(simple_cpu_profile())
    assert p.stacks(0) == p.stacks("samples")
    assert p.sample_type_index("cpu") == 1


def test_source_names_the_input(tmp_path):
    """source is the path as given, "<bytes>", or the name passed."""
    path = tmp_path / "cpu.pprof"
    path.write_bytes(gz(simple_cpu_profile()))
    assert load_profile(path).source == str(path)
    assert load_profile(str(path)).source == str(path)
    assert load_profile(path.read_bytes()).source == "<bytes>"
    assert load_profile(path.read_bytes(), name="before.pprof").source == "before.pprof"
