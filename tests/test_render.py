"""The frame pipeline model (labkit.models.renderloop): API, agreement with the pacer, sync.Pool, draws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings

from labkit.models.gcpacer import heap_goal_bytes
from labkit.models.renderloop import simulate_frames
from tests.strategies_gc import render_scenarios

MIB = 1 << 20


@pytest.fixture(scope="module")
def default_run():
    return simulate_frames(
        width=1024,
        height=768,
        fps=60,
        seconds=10,
        pooled=False,
        gogc=100,
        live_heap_mb=64,
        producers=4,
        gomaxprocs=4,
        seed=0,
    )


def test_fixed_call_returns_arrays_a_widget_can_draw(default_run):
    """The interface the frame-lab widget and notebooks use: one value per frame, the heap over
    time, GC events as (start, end, kind), summary stats and the inputs."""
    r = default_run
    assert r.frame_ms.shape == (600,) and r.assist_ms.shape == (600,)
    assert r.heap_mb.shape == r.t_s.shape and np.all(np.diff(r.t_s) >= 0)
    assert r.gc_cycles_per_s > 0 and r.p99_frame_ms >= r.p50_frame_ms
    assert 0.0 <= r.jank_fraction <= 1.0 and 0.0 <= r.gc_cpu_fraction <= 1.0
    kinds = {kind for _, _, kind in r.gc_events}
    assert kinds == {"stw_sweep_termination", "mark", "stw_mark_termination"}
    assert r.params.seed == 0 and r.params.gogc == 100
    line = r.summary()
    assert "\n" not in line and "GC 2." in line and "seed=0" in line and "p99" in line


def test_one_frame_is_3_mib_and_60_fps_allocate_180_mib_per_s(default_run):
    """1024 x 768 RGBA = 3 MiB per image.NewRGBA; at 60 fps that is 180 MiB/s, plus producers."""
    assert default_run.pool_allocations == 600
    assert default_run.alloc_mb_per_s == pytest.approx(180 + 8, rel=0.01)


def test_gc_rate_agrees_with_the_pacer_over_a_long_run():
    """GC cycles per second = allocation rate / (heap goal - live heap), within 15 %."""
    r = simulate_frames(seconds=60)
    runway = heap_goal_bytes(64 * MIB) - 64 * MIB
    assert r.gc_cycles_per_s == pytest.approx(r.alloc_mb_per_s * MIB / runway, rel=0.15)


def test_pooling_cuts_gc_cycles_at_least_tenfold(default_run):
    """sync.Pool reuse: after the first frame nothing is allocated per frame, so only the
    producers' allocation drives the GC."""
    pooled = simulate_frames(pooled=True)
    assert pooled.gc_cycles_per_s * 10 <= default_run.gc_cycles_per_s
    assert pooled.gc_cycles_per_s > 0


def test_the_victim_cache_keeps_a_pooled_buffer_across_one_gc():
    """sync/pool.go poolCleanup: each GC moves the primary cache to the victim cache, dropping
    the old victims. A buffer Put back between frames survives one GC, so with the victim cache
    only the first frame allocates; Go <= 1.12 (no victim cache) allocated again after every GC
    that fell between a Put and the next Get."""
    kw = {"live_heap_mb": 4, "producer_alloc_mb_per_s": 50.0, "pooled": True, "seconds": 5}
    with_victim = simulate_frames(**kw)
    without = simulate_frames(**kw, pool_victim_cache=False)
    assert with_victim.pool_allocations == 1
    assert without.pool_allocations > 50
    assert without.pool_allocations <= without.gc_starts + 1


def test_two_gcs_between_frames_drop_the_victim_too():
    """Only a buffer unused across two GC starts is dropped: at 2 fps with producers allocating
    fast on a small heap, several cycles run between frames and the pool refills with New."""
    r = simulate_frames(fps=2, seconds=5, live_heap_mb=4, producer_alloc_mb_per_s=50.0, pooled=True)
    assert r.gc_cycles_per_s > 2 * 2
    assert r.pool_allocations == 10


def test_reusing_one_buffer_allocates_once():
    """handoff='reuse': the renderer keeps one *image.RGBA; only the first frame allocates."""
    assert simulate_frames(handoff="reuse").pool_allocations == 1


def test_frame_time_is_the_sum_of_its_parts(default_run):
    """frame = zeroing + assist + stop-the-world overlap + waiting (P or lock) + compose."""
    r = default_run
    parts = r.alloc_ms + r.assist_ms + r.stw_ms + r.wait_ms + r.compose_ms
    assert np.allclose(r.frame_ms, parts, rtol=0, atol=1e-9)


def test_jank_fraction_counts_frames_over_budget():
    """jank = share of frames longer than 1000/fps ms; GOMAXPROCS=2 leaves only the fractional
    worker and no idle P, so marking is slow and the render goroutine assists heavily."""
    r = simulate_frames(gomaxprocs=2)
    assert r.jank_fraction == pytest.approx(np.mean(r.frame_ms > 1000 / 60))
    assert r.jank_fraction > 0 and r.assist_ms.max() > 1000 / 60


def test_low_gogc_trades_memory_for_gc_cycles_and_assists(default_run):
    """GOGC=10 on 64 MiB: 6.4 MiB of runway, about ten times the cycles of GOGC=100."""
    low = simulate_frames(gogc=10)
    assert low.gc_cycles_per_s > 5 * default_run.gc_cycles_per_s
    assert low.assist_ms.sum() > default_run.assist_ms.sum()
    assert low.heap_mb.max() < default_run.heap_mb.max()


def test_the_articles_120_gc_per_s_needs_more_than_frames():
    """A 3 MiB allocation can start at most one cycle, so frames alone cannot drive the GC faster
    than the frame rate: the article's '120+ GC/s' at 60 fps needs other allocation as well."""
    r = simulate_frames(live_heap_mb=0, gogc=1, producer_alloc_mb_per_s=0.0, seconds=2)
    assert 50 <= r.gc_cycles_per_s <= 60


@pytest.mark.parametrize(
    ("mode", "torn"), [("single", False), ("concurrent_locked", False), ("concurrent_racy", True)]
)
def test_only_racy_draws_tear_frames(mode, torn):
    """Drawing into a shared buffer without a lock is fast but tears frames; a mutex or a single
    drawing goroutine never tears."""
    r = simulate_frames(draw_mode=mode, seconds=2)
    assert (r.torn_frames > 0) is torn


def test_a_single_drawer_pays_for_every_draw():
    """draw_mode='single': the render goroutine draws the producers' updates itself."""
    single = simulate_frames(draw_mode="single", seconds=2)
    locked = simulate_frames(draw_mode="concurrent_locked", seconds=2)
    assert single.compose_ms.mean() > locked.compose_ms.mean() + 1.0


def test_same_seed_same_numbers_other_seed_other_numbers(default_run):
    """One seeded numpy Generator per run: identical inputs give identical outputs."""
    again = simulate_frames(seed=0)
    assert np.array_equal(again.frame_ms, default_run.frame_ms)
    assert np.array_equal(again.heap_mb, default_run.heap_mb)
    assert again.summary() == default_run.summary()
    assert not np.array_equal(simulate_frames(seed=1).frame_ms, default_run.frame_ms)


def test_gctrace_of_a_render_run():
    """The run's cycles print as GODEBUG=gctrace=1 lines."""
    lines = simulate_frames(seconds=2).gctrace().splitlines()
    assert lines and all(line.startswith("gc ") and line.endswith(" 4 P") for line in lines)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"width": 0}, "width"),
        ({"height": -3}, "height"),
        ({"fps": 0}, "fps"),
        ({"seconds": -1}, "seconds"),
        ({"gogc": -5}, "gogc"),
        ({"gogc": "lots"}, "gogc"),
        ({"gomaxprocs": 0}, "gomaxprocs"),
        ({"producers": -1}, "producers"),
        ({"live_heap_mb": -1}, "live_heap_mb"),
        ({"memory_limit_mb": 0}, "memory_limit_mb"),
        ({"draw_mode": "fast"}, "draw_mode"),
        ({"handoff": "mail"}, "handoff"),
        ({"pooled": "yes"}, "pooled"),
        ({"seed": -1}, "seed"),
        ({"width": 10.5}, "width"),
    ],
)
def test_invalid_parameters_name_themselves(kwargs, name):
    """Bad input raises ValueError naming the parameter and the valid range, before simulating."""
    with pytest.raises(ValueError, match=name):
        simulate_frames(**kwargs)


def test_gogc_off_and_a_memory_limit_are_accepted():
    """GOGC=off means no cycles; adding GOMEMLIMIT brings cycles back to respect the limit."""
    assert simulate_frames(gogc="off", seconds=2).gc_starts == 0
    limited = simulate_frames(gogc="off", memory_limit_mb=128, seconds=2)
    assert limited.gc_starts > 0 and limited.heap_mb.max() <= 128


GC_BOUND_ON_ONE_P = {  # GOGC=off under a 16 MiB limit with 113 MiB live: the GC never stops
    "width": 16,
    "height": 16,
    "fps": 24,
    "seconds": 0.5,
    "gogc": "off",
    "live_heap_mb": 113,
    "producers": 0,
    "gomaxprocs": 1,
    "memory_limit_mb": 16,
}


def test_a_gc_bound_program_spends_at_most_all_of_its_cpu_in_gc():
    """Found by a random seed: GC CPU 100.03 %. Each frame's assist owed the rest of the mark and
    finished it at once, so the next cycle's pause and worker ran on the one P while the render
    goroutine was still assisting. The assist now holds its P until its work is done and the
    mark waits for it (gcIsMarkDone, src/runtime/mgc.go:1944)."""
    r = simulate_frames(**GC_BOUND_ON_ONE_P)
    assert 0.85 < r.gc_cpu_fraction <= 1.0  # GC-bound (idle marking is not counted)
    assert all(c.gc_cpu_fraction <= 1.0 for c in r.gc_cycles)
    for c in r.gc_cycles:
        assert c.mark_s * c.gomaxprocs >= c.assist_cpu_s + c.background_cpu_s + c.idle_cpu_s


def test_the_pacer_learns_the_frames_assists_and_starts_marking_earlier():
    """GOMAXPROCS=2, four busy producers, no idle P: the first cycle starts too late (no
    cons/mark yet: 3 MiB below the goal) and a frame assists. Its assist time counts in the
    mark's length and in endCycle's utilisation (src/runtime/mgcpacer.go:598), so cons/mark grows
    and the trigger moves well below the goal; from then on most cycles need no assist. (A frame
    that finished the mark in no time used to hide its assist from the pacer: 34.5 ms of assist
    in a 16.5 ms mark, utilisation above 1, the estimate never updated, the same assist in every
    cycle.)"""
    r = simulate_frames(gomaxprocs=2, seed=0, seconds=5)
    assists = np.array([c.assist_cpu_s for c in r.gc_cycles])
    headroom = np.array([c.heap_goal_bytes - c.trigger_bytes for c in r.gc_cycles])
    assert assists[0] > 0.01 and headroom[0] < 4 * MIB
    assert np.all(headroom[2:] > 3 * headroom[0])
    assert np.mean(assists[2:] == 0.0) >= 0.8
    for c in r.gc_cycles:
        assert c.mark_s * c.gomaxprocs >= c.assist_cpu_s + c.background_cpu_s


@settings(max_examples=30)
@given(scenario=render_scenarios())
@example(
    scenario={
        **GC_BOUND_ON_ONE_P,
        "pooled": False,
        "seed": 0,
        "draw_mode": "single",
        "handoff": "channel",
    }
)
@example(  # found by a random seed: a frame's assist and the fractional worker on one P
    scenario={
        "width": 16,
        "height": 16,
        "fps": 24,
        "seconds": 0.5,
        "pooled": False,
        "gogc": 0,
        "live_heap_mb": 8.0,
        "producers": 8,
        "gomaxprocs": 1,
        "seed": 0,
        "memory_limit_mb": None,
        "draw_mode": "concurrent_locked",
        "handoff": "channel",
    }
)
def test_invariants_for_any_settings(scenario):
    """Across random settings: one frame per tick, frames no shorter than their compose work,
    non-negative parts that add up, jank consistent with the budget, GC CPU share in [0, 1] for
    the run and every cycle, no cycle using more CPU than its Ps have while marking, frames in
    order and never overlapping."""
    r = simulate_frames(**scenario)
    n = max(round(scenario["seconds"] * scenario["fps"]), 1)
    assert r.frame_ms.shape == (n,)
    assert np.all(r.frame_ms >= r.compose_ms - 1e-9)
    for part in (r.alloc_ms, r.assist_ms, r.stw_ms, r.wait_ms, r.compose_ms):
        assert np.all(part >= -1e-9)
    assert np.allclose(r.frame_ms, r.alloc_ms + r.assist_ms + r.stw_ms + r.wait_ms + r.compose_ms)
    assert np.all(r.frame_t_s[1:] >= r.frame_t_s[:-1] + r.frame_ms[:-1] / 1000 - 1e-12)
    assert 0.0 <= r.gc_cpu_fraction <= 1.0 + 1e-9
    for c in r.gc_cycles:
        assert c.gc_cpu_fraction <= 1.0 + 1e-9
        used = c.assist_cpu_s + c.background_cpu_s + c.idle_cpu_s
        assert used <= c.gomaxprocs * c.mark_s * (1 + 1e-9) + 1e-12, c
    assert r.jank_fraction == pytest.approx(np.mean(r.frame_ms > 1000 / scenario["fps"]))
    if scenario["draw_mode"] != "concurrent_racy":
        assert r.torn_frames == 0


def test_producers_allocate_per_producer_and_none_means_only_frames():
    """producer_alloc_mb_per_s is each producer's rate: with producers=0 and a pool, nothing
    allocates after the first buffer, so no GC cycle runs."""
    assert simulate_frames(live_heap_mb=0.08, producers=0, pooled=True, seconds=1).gc_cycles == ()
    one = simulate_frames(producers=1, pooled=True, seconds=5, live_heap_mb=4)
    four = simulate_frames(producers=4, pooled=True, seconds=5, live_heap_mb=4)
    assert four.gc_cycles_per_s > 2.5 * one.gc_cycles_per_s


def test_heap_series_covers_the_whole_run():
    r = simulate_frames(gomaxprocs=2, pooled=True, seconds=10)
    assert r.t_s[-1] == pytest.approx(10.0)


def test_near_empty_heap_cycles_every_second_frame_like_real_go():
    """Measured on go1.27.3 (labkit/golab gc_frames, 60 fps, 3 MiB frames, tiny live heap):
    30 GC/s, '9->9->3 MB, 9 MB goal'. The 4 MiB minimum goal plus ~150 KiB of scanned globals
    puts the trigger above live + one frame, so a cycle starts every second frame."""
    r = simulate_frames(live_heap_mb=0.08, producers=0, seconds=2, gomaxprocs=2)
    assert r.gc_cycles_per_s == pytest.approx(30.0, rel=0.1)


def test_the_non_heap_memory_is_gc_renders_recorded_figure_under_a_limit():
    """NON_HEAP_MB, which memoryLimitHeapGoal takes off GOMEMLIMIT, is the non-heap memory the
    real program reported under GOMEMLIMIT=100MiB, to a tenth of a MiB."""
    from statistics import median

    from labkit.golab import run_experiment
    from labkit.models.renderloop import NON_HEAP_MB

    real = run_experiment("gc_render", source="recorded", memory_limit_mb=100)
    assert abs(NON_HEAP_MB - median(real["non_heap_mb_runs"])) <= 0.1


def test_under_a_memory_limit_the_goal_leaves_room_for_the_non_heap_memory():
    """The same GOMEMLIMIT with more non-heap memory gives the heap a lower goal, so more
    cycles (memoryLimitHeapGoal, src/runtime/mgcpacer.go)."""
    kw = dict(gogc="off", memory_limit_mb=100, live_heap_mb=64, seconds=5, seed=0)
    none = simulate_frames(**kw, non_heap_mb=0)
    some = simulate_frames(**kw, non_heap_mb=10)
    assert some.gc_starts > none.gc_starts
