"""labkit.golab.gobench_cpu: where the ChanProdCons benchmarks' CPU goes, from Go's own CPU
profiles. On one P no thread spins for the channel's lock; on two a third of the samples do; the
explanation of the two-P rows quotes exactly what the shipped profiles and the model say; a
doctored profile moves the count, and a missing, broken or wrong-kind profile is refused by name."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from labkit.golab import gobench as gb
from labkit.golab import gobench_cpu as gc
from labkit.golab.recorded import RECORDED_DIR
from labkit.profiles import Profile

TWO_PS = [k for k, (_, procs, _, _) in gc.PROFILED.items() if procs == 2]
CPU_TYPES = (("samples", "count"), ("cpu", "nanoseconds"))


def write_profile(directory: Path, key: str, stacks: dict[tuple[str, ...], int]) -> Path:
    """A CPU profile of ``stacks`` (root first) where the shipped one of ``key`` would be."""
    prof = Profile.from_stacks({s: (n, n * 10_000_000) for s, n in stacks.items()}, CPU_TYPES)
    path = gc.profile_path(key, directory)
    path.write_bytes(prof.to_pprof())
    return path


SEND = ("runtime_test.benchmarkChanProdCons.func1", "runtime.chansend1", "runtime.chansend")


def test_on_one_p_no_thread_spins_for_a_runtime_lock():
    one = gc.lock_time("BenchmarkChanProdCons0")
    assert one.samples >= 200
    assert one.spin_share == 0.0
    assert 0.0 < one.lock_share < 0.3  # the uncontended lock's own atomics


@pytest.mark.parametrize("key", TWO_PS)
def test_on_two_ps_a_third_of_the_cpu_spins_for_the_channels_lock(key):
    two = gc.lock_time(key)
    assert two.samples >= 400
    assert 0.25 <= two.spin_share <= 0.5
    assert two.spin_share < two.lock_share


def test_the_two_p_explanation_quotes_the_profiles_and_the_model():
    """The reason printed beside the two-P rows gives Go's spinning share, its share under the
    lock's functions, and the model's waiting share: each range is what the readers give now."""
    why = gb.EXPLAINED["BenchmarkChanProdCons0-2"]

    def pct(x: float) -> int:
        return round(100 * x)

    real = [gc.lock_time(k) for k in TWO_PS]
    spin = sorted(pct(t.spin_share) for t in real)
    lock = sorted(pct(t.lock_share) for t in real)
    assert f"{spin[0]}-{spin[-1]} % of the samples spin in procyield" in why
    assert f"{lock[0]}-{lock[-1]} % are under lock2 or unlock2" in why
    model = {k: pct(gc.model_lock_share(k)) for k in TWO_PS}
    assert model["BenchmarkChanProdCons0-2"] == 0
    buffered = sorted(model[k] for k in TWO_PS if k != "BenchmarkChanProdCons0-2")
    assert "0 % of its Ps' time in ChanProdCons0" in why
    assert f"and {buffered[0]}-{buffered[-1]} % in 10 and 100" in why


def test_only_procyield_under_lock2_counts_as_spinning(tmp_path):
    """A doctored profile: 3 samples spinning in lock2, 2 in sync.Mutex's own spin (procyield
    under runtime_doSpin, not lock2), 4 in unlock2, 11 elsewhere."""
    spin = (*SEND, "runtime.lock2", "runtime.procyieldAsm")
    mutex = ("main.f", "sync.(*Mutex).lockSlow", "sync.runtime_doSpin", "runtime.procyieldAsm")
    unlock = (*SEND, "runtime.unlock2")
    write_profile(tmp_path, "BenchmarkChanProdCons0-2", {spin: 3, mutex: 2, unlock: 4, SEND: 11})
    lt = gc.lock_time("BenchmarkChanProdCons0-2", tmp_path)
    assert lt == gc.LockTime(20, 3 / 20, 7 / 20)


def test_a_profile_with_the_spins_taken_out_reads_none(tmp_path):
    """The shipped two-P profile with every lock2 frame dropped: what a run without contention
    would show, and the test above would fail on it."""
    shipped = gc.profile_path("BenchmarkChanProdCons0-2")
    from labkit.profiles import load_profile

    stacks = load_profile(shipped).stacks("samples")
    cleaned: dict[tuple[str, ...], int] = {}
    for stack, n in stacks.items():
        kept = tuple(f for f in stack if f not in (gc.LOCK2, gc.SPIN_LEAF))
        cleaned[kept] = cleaned.get(kept, 0) + n
    write_profile(tmp_path, "BenchmarkChanProdCons0-2", cleaned)
    assert gc.lock_time("BenchmarkChanProdCons0-2", tmp_path).spin_share == 0.0


def test_a_missing_broken_or_wrong_kind_profile_is_refused_by_name(tmp_path):
    key = "BenchmarkChanProdCons10-2"
    with pytest.raises(gb.GoBenchError, match=r"missing; re-record .*--profiles"):
        gc.lock_time(key, tmp_path)
    path = gc.profile_path(key, tmp_path)
    path.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(gb.GoBenchError, match=r"is not a CPU profile"):
        gc.lock_time(key, tmp_path)
    heap = Profile.from_stacks(
        {SEND: (1, 4096)}, (("alloc_objects", "count"), ("alloc_space", "bytes"))
    )
    path.write_bytes(heap.to_pprof())
    with pytest.raises(gb.GoBenchError, match=r"no samples count"):
        gc.lock_time(key, tmp_path)
    write_profile(tmp_path, key, {SEND: 0})
    with pytest.raises(gb.GoBenchError, match=r"holds no samples"):
        gc.lock_time(key, tmp_path)
    with pytest.raises(gb.GoBenchError, match=r"is not profiled; choose one of"):
        gc.lock_time("BenchmarkChanSync-2")
    with pytest.raises(gb.GoBenchError, match=r"is not profiled"):
        gc.model_lock_share("BenchmarkPingPongHog")


def test_the_recording_is_checked_against_the_profiled_benchmarks(tmp_path):
    path = tmp_path / gc.RECORDED.name
    with pytest.raises(gb.GoBenchError, match=r"no recording .*--profiles"):
        gc.load_recorded(path)
    path.write_text("{not json")
    with pytest.raises(gb.GoBenchError, match=r"not JSON"):
        gc.load_recorded(path)
    data = json.loads(gc.RECORDED.read_text())
    del data["runs"]["BenchmarkChanProdCons100-2"]
    path.write_text(json.dumps(data))
    with pytest.raises(gb.GoBenchError, match=r"no run of BenchmarkChanProdCons100-2"):
        gc.load_recorded(path)


def test_the_recording_names_its_sitting_and_each_profile():
    data = gc.load_recorded()
    assert data["go_version"].startswith("go1.") and data["goarch"] == "amd64"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["recorded_at"])
    for key, (_, _, _, n) in gc.PROFILED.items():
        run = data["runs"][key]
        assert run["n"] == n and run["ns_op"] > 0
        assert (RECORDED_DIR / run["file"]) == gc.profile_path(key)


def test_the_models_share_is_its_share_over_a_longer_run_too():
    """MODEL_N keeps the table quick; twice the values give the same share within a percent."""
    for key in TWO_PS:
        short = gc.model_lock_share(key)
        long = gc.model_lock_share(key, n=2 * gc.MODEL_N)
        assert abs(short - long) <= 0.01, (key, short, long)


def test_on_one_p_the_model_never_waits_for_the_lock():
    assert gc.model_lock_share("BenchmarkChanProdCons0") == 0.0


def test_the_table_shows_every_profiled_benchmark(tmp_path):
    for name in [gc.RECORDED.name, *(gc.profile_path(k).name for k in gc.PROFILED)]:
        shutil.copyfile(RECORDED_DIR / name, tmp_path / name)
    text = gc.table(tmp_path)
    lines = text.splitlines()
    assert len(lines) == 2 + len(gc.PROFILED)
    assert "BenchmarkChanProdCons0 (1)" in lines[2] and "| 0%" in lines[2]


@pytest.mark.go
def test_recording_writes_a_profile_the_reader_reads_for_every_benchmark(tmp_path, monkeypatch):
    """record_profiles end to end, with the runtime's own test binary and b.N cut to a few
    million (the shipped b.N take ~15 s; a run too short for a 10 ms sample gives an empty
    profile, which lock_time refuses): every benchmark's profile lands where profile_path
    says, the recording names each run, and lock_time reads every profile back."""
    from tests.go_toolchain import require_go

    small = {k: (b, procs, cap, 1_000_000) for k, (b, procs, cap, _) in gc.PROFILED.items()}
    monkeypatch.setattr(gc, "PROFILED", small)
    data = gc.record_profiles(require_go(), tmp_path)
    assert data["goarch"] and data["go_version"].startswith("go1.")
    assert gc.load_recorded(tmp_path / gc.RECORDED.name)["runs"].keys() == small.keys()
    for key in small:
        assert data["runs"][key]["n"] == 1_000_000 and data["runs"][key]["ns_op"] > 0
        assert gc.profile_path(key, tmp_path).is_file()
        assert gc.lock_time(key, tmp_path).samples > 0
