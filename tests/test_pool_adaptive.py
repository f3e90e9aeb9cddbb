"""The article's watchdog (seed section 4.4), sample by sample, and what it does to a pool."""

from __future__ import annotations

from labkit.models.pool import compare_policies, simulate_pool
from labkit.models.pool.watchdog import Watchdog


def article_watchdog(workers: int = 4, **overrides) -> Watchdog:
    settings = dict(
        workers=workers,
        min_workers=workers,
        max_workers=None,
        high_factor=2.0,
        high_samples=3,
        grow_step=2,
        shrink_step=1,
    )
    settings.update(overrides)
    return Watchdog(**settings)


def test_grows_by_two_after_three_consecutive_high_samples():
    """``if qLen > 2*p.workers { consecutiveHighLoad++; if >= 3 { scaleUp(2); reset } }``: the
    third sample above 2 x 4 = 8 grows the pool to 6, and the count starts again."""
    dog = article_watchdog(4)
    assert [dog.tick(q) for q in (9, 9, 9, 13, 13, 13)] == [0, 0, 2, 0, 0, 2]
    assert dog.workers == 8


def test_a_sample_at_or_below_the_threshold_resets_the_count():
    """Exactly 2 x workers is not "greater than", and any such sample breaks the run."""
    dog = article_watchdog(4)
    assert [dog.tick(q) for q in (9, 9, 8, 9, 9, 9)] == [0, 0, 0, 0, 0, 2]


def test_shrinks_by_one_per_empty_sample_down_to_base_size():
    """``if qLen == 0 && p.workers > p.baseSize { scaleDown(1) }``; a non-empty queue that is not
    high leaves the size alone."""
    dog = article_watchdog(6, min_workers=4)
    assert [dog.tick(q) for q in (0, 3, 0, 0, 0)] == [-1, 0, -1, 0, 0]
    assert dog.workers == 4


def test_max_workers_caps_growth():
    """The article has no ceiling; max_workers (the model's addition) stops growth at 5."""
    dog = article_watchdog(4, max_workers=5)
    assert [dog.tick(100) for _ in range(6)] == [0, 0, 1, 0, 0, 0]
    assert dog.workers == 5


def test_adaptive_pool_grows_every_300_ms_while_the_backlog_lasts():
    """100 one-second requests at t=0 on 2 workers (64 Ps, so nobody waits for a P). The
    watchdog samples every 100 ms and grows by 2 on every third high sample; each new worker
    takes a request from the channel at once. At 1 s the first two finish and their workers take
    two more."""
    r = simulate_pool(
        arrivals=[0.0] * 100,
        service="const",
        service_ms=1000.0,
        policy="adaptive",
        workers=2,
        gomaxprocs=64,
        duration_s=1.0,
    )
    assert list(r.workers) == [2, 2, 2, 4, 4, 4, 6, 6, 6, 8, 8]
    assert list(r.queue_depth) == [98, 98, 98, 96, 96, 96, 94, 94, 94, 92, 90]


def test_idle_adaptive_pool_shrinks_to_min_workers():
    """No requests: every 100 ms tick sees an empty channel and retires one idle worker."""
    r = simulate_pool(
        arrivals=[], policy="adaptive", workers=6, min_workers=2, duration_s=0.5, gomaxprocs=2
    )
    assert list(r.workers) == [6, 5, 4, 3, 2, 2]
    assert r.mean_workers == 4.0  # 6, 5, 4, 3, 2 workers for 100 ms each


def test_busy_worker_told_to_stop_finishes_its_request_first():
    """scaleDown while every worker is busy: the stop takes effect when one finishes (a worker
    checks its quit signal between tasks), so no request is dropped."""
    r = simulate_pool(
        arrivals=[0.0] * 4,
        service="const",
        service_ms=250.0,
        policy="adaptive",
        workers=4,
        min_workers=2,
        gomaxprocs=8,
        duration_s=0.3,
    )
    assert list(r.workers) == [4, 4, 4, 2]
    assert r.completed == 4 and list(r.latency_ms) == [250.0] * 4


def test_watchdog_grows_a_cpu_bound_pool_past_gomaxprocs_for_nothing():
    """CPU-bound bursts: the watchdog sees len(taskCh) and keeps adding workers beyond the 4 Ps,
    but only 4 can run, so its p99 is no better than the static pool's on the same requests."""
    rows = compare_policies(
        ["static", "adaptive"], burst=(600.0, 2.0, 8.0), duration_s=30.0, gomaxprocs=4
    )
    static, adaptive = rows
    assert adaptive["peak_workers"] > 4
    assert adaptive["p99_ms"] > 0.9 * static["p99_ms"]


def test_watchdog_helps_when_requests_mostly_wait_on_the_network():
    """75 % of each 40 ms request is a network wait that holds no P: 4 workers cannot keep up
    with 300/s (they need 12 on average), the adaptive pool grows and its p99 drops by far."""
    rows = compare_policies(
        ["static", "adaptive"], cpu_bound=0.25, service_ms=40.0, duration_s=30.0
    )
    static, adaptive = rows
    assert static["overloaded"] and not adaptive["overloaded"]
    assert adaptive["p99_ms"] < 0.1 * static["p99_ms"]
