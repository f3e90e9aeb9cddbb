"""Chapter 4b's prediction, answered by real Go: the pool (4.4).

Asked before the section's real-Go comparison (issue #17: predict, then see). The key is what the
pool twin (labkit.golab.twins: the model's own requests served by the same pool in Go; its
recording ships with the course) measured, never a number written here; after Check the
exercise draws real Go's latency curves beside the model's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.exercises.ch04 import _real
from labkit.exercises.seeded import Variant, choice
from labkit.golab.twins import pool_twin_model

#: The choices of the pool question: how p50 and p99 move against the pool of 2.
POOL_MOVES = (
    "both p50 and p99 fall",
    "p50 falls, p99 rises",
    "p50 rises, p99 falls",
    "both rise",
    "neither moves by more than 10 %",
)


def move_of(p50_before: float, p99_before: float, p50_after: float, p99_after: float) -> int:
    """The POOL_MOVES entry for a change of p50 and p99 (a move under 10 % is no move)."""

    def direction(before: float, after: float) -> int:
        return 0 if abs(after - before) <= 0.1 * before else (1 if after > before else -1)

    moves = {(-1, -1): 0, (-1, 1): 1, (1, -1): 2, (1, 1): 3, (0, 0): 4}
    d50, d99 = direction(p50_before, p50_after), direction(p99_before, p99_after)
    # a move of one alone counts as the nearest choice that has it
    return moves.get((d50, d99), {(0, 1): 1, (0, -1): 0, (1, 0): 3, (-1, 0): 0}.get((d50, d99), 4))


def _pool_curves(variant: dict[str, int], label: str) -> Callable[[], object]:
    def figure():
        from labkit.widgets import LatencyPercentiles

        runs = []
        for name, settings in (("pool of 2", {"policy": 0, "workers": 2}), (label, variant)):
            real = _real("pool", **settings).output["latency_ms"]
            policy = "static" if settings["policy"] == 0 else "per_request"
            model = pool_twin_model(policy, settings["workers"]).latency_ms
            runs += [(f"{name}, real Go", real, False), (f"{name}, the model", model, True)]
        return LatencyPercentiles(
            runs, title="The same 592 requests on 2 Ps: latency by percentile", pairs=True
        )

    return figure


def pool_prediction(rng: np.random.Generator) -> Variant:
    """Real Go's pool of 2 on 2 Ps against 8 workers or a goroutine per request."""
    label, settings = [
        ("8 workers", {"policy": 0, "workers": 8}),
        ("a goroutine per request", {"policy": 1, "workers": 2}),
    ][int(rng.integers(2))]
    lat2 = np.asarray(_real("pool", policy=0, workers=2).output["latency_ms"])
    after = np.asarray(_real("pool", **settings).output["latency_ms"])
    p50, p99 = np.percentile(lat2, 50), np.percentile(lat2, 99)
    q50, q99 = np.percentile(after, 50), np.percentile(after, 99)
    right = move_of(p50, p99, q50, q99)
    return choice(
        "Real Go, GOMAXPROCS=2: 592 requests of 10 ms of CPU on average (exponential), 120 "
        "a second with bursts of 250 a second, served by a pool of 2 workers ranging over a "
        f"channel: p50 {p50:.0f} ms, p99 {p99:.0f} ms. The same requests, served by "
        f"{label} instead. How do p50 and p99 move?",
        list(POOL_MOVES),
        right,
        f"Real Go: p50 {p50:.0f} -> {q50:.0f} ms, p99 {p99:.0f} -> {q99:.0f} ms. With two "
        "workers a request waits in the channel, then runs to the end: first come, first "
        f"served. With {label}, more requests than Ps are goroutines at once (all of them with "
        "a goroutine per request, up to 8 with 8 workers), sharing the two Ps, "
        "and sysmon preempts whichever has run 10 ms (retake, forcePreemptNS in "
        "src/runtime/proc.go): short requests slip past long ones, so the median falls, and "
        "a long request is sliced among all the others, so the tail grows. The CPU is the "
        "same; only who waits changes.",
        hints={
            i: "Who waits, and how? In a channel, first come first served; as runnable "
            "goroutines, in 10 ms turns (sysmon's preemption). Which requests gain from "
            "turns, the short or the long ones?"
            for i in range(len(POOL_MOVES))
            if i != right
        },
        params={"variant": label, "p50_ms": q50, "p99_ms": q99},
        figure=_pool_curves(settings, label),
        predict=True,
        shows="the plot of real Go's latency (solid) beside the model's (dashed)",
        shuffle=rng,
    )
