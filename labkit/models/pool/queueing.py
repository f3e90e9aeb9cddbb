"""The queueing core behind chapter 4: the hockey stick, variability, sharing, honest measuring.

Four results every pool-sizing decision rests on, each computed here on the course's own pool
model (:func:`labkit.models.pool.simulate_pool`) beside the formula it should agree with:

* **The hockey stick** (:func:`hockey_stick`): mean wait and p99 latency of a static pool
  against utilisation rho. Erlang C (A. K. Erlang, 1917; any queueing text, e.g. Harchol-Balter,
  *Performance Modeling and Design of Computer Systems*, 2013, ch. 14) gives the M/M/c mean wait
  C(c, a) s / (c - a), which grows like 1 / (1 - rho): flat until about 70 %, then a wall.
* **Variability** (:func:`kingman_wait_ms`, :func:`allen_cunneen_wait_ms`): J. F. C. Kingman,
  "The single server queue in heavy traffic", Proc. Cambridge Phil. Soc. 57 (1961): the mean wait
  of a G/G/1 queue is about rho / (1 - rho) x (ca^2 + cs^2) / 2 x s, with ca^2 and cs^2 the
  squared coefficients of variation of the gaps between arrivals and of the service times. For
  Poisson arrivals (ca^2 = 1) it is exact (Pollaczek-Khinchine). Bursty arrivals or jittery work
  raise the factor, and the same utilisation then needs more workers. Allen and Cunneen's
  extension to c servers scales Erlang C by the same factor (A. O. Allen, *Probability,
  Statistics, and Queueing Theory*, 2nd ed., 1990, sec. 6.4).
* **Processor sharing against FCFS** (:func:`fcfs_vs_sharing`): n CPU-bound requests on P Ps.
  A pool of P workers serves them first come, first served; n workers share the Ps. Either way
  the Ps do the same work (the makespan is n s / P), but sharing finishes everybody late: the
  mean latency is n s / P instead of s (n / P + 1) / 2. Go's sharing is round robin in 10 ms
  slices (forcePreemptNS, src/runtime/proc.go:6679; a preempted G goes to the global run queue's
  tail via goschedImpl, proc.go:4322, and globrunqput, proc.go:7300), which the pool model runs.
* **Coordinated omission** (:func:`coordinated_omission`): a load generator that waits for each
  reply before sending the next stops sending while the service is stalled, so the stall shows
  up as one slow sample. Requests on a schedule (open loop, as real users arrive) keep arriving
  and every one of them waits out the rest of the stall (G. Tene, "How NOT to Measure Latency",
  2013; wrk2 exists to fix this in wrk).

Everything is deterministic: the simulations take a seed, the rest is arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.models.pool.erlang import erlang_c_probability, erlang_c_wait_ms
from labkit.models.pool.params import FORCE_PREEMPT_MS, PoolParameterError, PoolParams
from labkit.models.pool.simulate import simulate_pool
from labkit.validation import check_int, check_real

_E = {"error": PoolParameterError}

#: The slice that makes the pool model's round robin a stand-in for processor sharing: 1 us,
#: a thousandth of a 1 ms request, so every runnable G gets its share within a microsecond.
SHARING_SLICE_MS = 0.001


def mmc_latency_p99_ms(arrival_rate: float, service_ms: float, workers: int) -> float:
    """p99 of the time in system (wait + service) of an M/M/c FCFS queue, in ms; inf at rho >= 1.

    With probability 1 - C a request does not wait; otherwise its wait is exponential with rate
    c mu - lambda (the M/M/c waiting-time law, e.g. Harchol-Balter 2013, ch. 14), and its service
    is exponential with rate mu. The tail of the sum is solved for 1 % by bisection."""
    if math.isinf(erlang_c_wait_ms(arrival_rate, service_ms, workers)):  # (checks the inputs)
        return math.inf
    rate, s, c = float(arrival_rate), float(service_ms), int(workers)
    a = rate * s / 1000.0
    mu, theta = 1.0 / s, c / s - rate / 1000.0
    chance = erlang_c_probability(a, c)

    def tail(t: float) -> float:
        if math.isclose(theta, mu):  # the sum of two Exp(mu): an Erlang-2 tail
            both = (1.0 + mu * t) * math.exp(-mu * t)
        else:
            both = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1.0 - chance) * math.exp(-mu * t) + chance * both

    lo, hi = 0.0, 50.0 / min(mu, theta)
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if tail(mid) > 0.01 else (lo, mid)
    return lo


def hockey_stick(
    utilisations: Sequence[float],
    *,
    workers: int = 4,
    service_ms: float = 10.0,
    duration_s: float = 200.0,
    seed: int = 0,
    **overrides: Any,
) -> list[dict[str, float]]:
    """Mean wait and p99 of a static pool of ``workers`` on as many Ps, at each utilisation.

    The arrival rate is rho x workers / service time, so rho is the share of time a worker is
    busy. Each row has the simulated ``mean_wait_ms`` and ``p99_ms`` beside Erlang C's
    ``erlang_c_wait_ms`` and the M/M/c ``mmc_p99_ms`` (exact for the default exponential service
    and Poisson arrivals; ``overrides`` such as ``service="const"`` change the simulated pool
    only, which is how the figure shows variability moving off the curve). Same seed for every
    point: the curve is smooth, not a new draw of dice at each rho."""
    rows = []
    for rho in utilisations:
        u = check_real("utilisation", rho, 0.0, 1.0, where="hockey_stick", **_E)
        if u >= 1.0:
            raise PoolParameterError(
                "hockey_stick: a utilisation of 1 or more has no steady state (the queue grows "
                f"without bound); pass values below 1, got {u:g}"
            )
        rate = u * workers * 1000.0 / service_ms
        r = simulate_pool(
            policy="static",
            arrival_rate=rate,
            service_ms=service_ms,
            workers=workers,
            gomaxprocs=workers,
            duration_s=duration_s,
            seed=seed,
            **overrides,
        )
        rows.append(
            {
                "utilisation": u,
                "arrival_rate": rate,
                "mean_wait_ms": r.mean_wait_ms,
                "p99_ms": r.p99_ms,
                "erlang_c_wait_ms": erlang_c_wait_ms(rate, service_ms, workers),
                "mmc_p99_ms": mmc_latency_p99_ms(rate, service_ms, workers),
            }
        )
    return rows


def service_scv(params: PoolParams) -> float:
    """Squared coefficient of variation (variance / mean^2) of the pool model's service times:
    1 for ``"exp"``, 0 for ``"const"``, exp(sigma^2) - 1 for ``"lognormal"`` (the lognormal's
    variance over its squared mean)."""
    if params.service == "exp":
        return 1.0
    if params.service == "const":
        return 0.0
    return math.expm1(params.service_sigma**2)


def kingman_wait_ms(utilisation: float, service_ms: float, ca2: float, cs2: float) -> float:
    """Kingman's G/G/1 mean wait (ms): rho / (1 - rho) x (ca2 + cs2) / 2 x service_ms.

    J. F. C. Kingman (1961). Three factors: *utilisation* (the hockey stick), *variability* (the
    mean of the two squared coefficients of variation: 1 for Poisson arrivals and exponential
    work, 0 for a clock and constant work) and the *service time* (the unit). Exact for Poisson
    arrivals (ca2 = 1, the Pollaczek-Khinchine formula), an approximation otherwise, best in heavy
    traffic. Infinite at rho >= 1."""
    where = "kingman_wait_ms"
    u = check_real("utilisation", utilisation, 0.0, where=where, **_E)
    s = check_real("service_ms", service_ms, 0.0, low_open=True, where=where, **_E)
    va = check_real("ca2", ca2, 0.0, where=where, **_E)
    vs = check_real("cs2", cs2, 0.0, where=where, **_E)
    if u >= 1.0:
        return math.inf
    return u / (1.0 - u) * (va + vs) / 2.0 * s


def allen_cunneen_wait_ms(
    arrival_rate: float, service_ms: float, workers: int, ca2: float, cs2: float
) -> float:
    """Kingman's variability factor on c servers: Erlang C's M/M/c wait x (ca2 + cs2) / 2.

    The Allen-Cunneen approximation (Allen 1990, sec. 6.4): with c = 1 it is Kingman's formula,
    with ca2 = cs2 = 1 it is Erlang C exactly."""
    va = check_real("ca2", ca2, 0.0, where="allen_cunneen_wait_ms", **_E)
    vs = check_real("cs2", cs2, 0.0, where="allen_cunneen_wait_ms", **_E)
    return erlang_c_wait_ms(arrival_rate, service_ms, workers) * (va + vs) / 2.0


def fcfs_vs_sharing(
    jobs: int, job_ms: float, gomaxprocs: int, *, sharing_slice_ms: float = SHARING_SLICE_MS
) -> list[dict[str, Any]]:
    """``jobs`` CPU-bound requests of ``job_ms`` each, all arriving at once, on ``gomaxprocs`` Ps.

    Three rows, each a run of the pool model on the same requests:

    * ``"FCFS"``: a static pool of ``gomaxprocs`` workers: the channel hands requests out in
      order (runtime.chanrecv, src/runtime/chan.go:524), each runs to the end;
    * ``"Go, 10 ms slices"``: one worker per request (``jobs`` workers) on the same Ps, round robin
      in sysmon's 10 ms slices (forcePreemptNS, src/runtime/proc.go:6679);
    * ``"processor sharing"``: the same, with ``sharing_slice_ms`` slices: every runnable G gets an
      equal share of the Ps at every instant.

    Each row: ``mean_ms`` and ``max_ms`` latency, ``cpu_ms`` the Ps' busy time (the same in all
    three: more workers add no CPU) and the closed forms ``fcfs_mean_ms`` = s (k + 1) / 2 with
    k = jobs / P rounds (exact when P divides jobs) and ``sharing_mean_ms`` = jobs s / P."""
    where = "fcfs_vs_sharing"
    n = check_int("jobs", jobs, 1, where=where, **_E)
    s = check_real("job_ms", job_ms, 0.0, low_open=True, where=where, **_E)
    p = check_int("gomaxprocs", gomaxprocs, 1, where=where, **_E)
    makespan_ms = math.ceil(n / p) * s
    base = {
        "policy": "static",
        "service": "const",
        "service_ms": s,
        "cpu_bound": 1.0,
        "gomaxprocs": p,
        "duration_s": max(1.0, 2.0 * makespan_ms / 1000.0),
        "seed": 0,
    }
    arrivals = [0.0] * n
    variants = (
        ("FCFS", {"workers": min(p, n)}),
        ("Go, 10 ms slices", {"workers": n, "time_slice_ms": FORCE_PREEMPT_MS}),
        ("processor sharing", {"workers": n, "time_slice_ms": sharing_slice_ms}),
    )
    rounds = n / p
    rows = []
    for label, knobs in variants:
        r = simulate_pool(arrivals=arrivals, **base, **knobs)
        rows.append(
            {
                "label": label,
                "workers": knobs["workers"],
                "mean_ms": float(r.latency_ms.mean()),
                "max_ms": float(r.latency_ms.max()),
                "cpu_ms": r.cpu_utilisation * p * r.params.duration_s * 1000.0,
                "fcfs_mean_ms": s * (math.ceil(rounds) + 1) / 2.0,
                "sharing_mean_ms": n * s / p,
            }
        )
    return rows


def _serve_with_stall(start_ms: float, service_ms: float, stall: tuple[float, float]) -> float:
    """When work of ``service_ms`` begun at ``start_ms`` ends, if the server does nothing during
    the stall [a, b) (a GC pause, a full disk, a lock held elsewhere)."""
    a, b = stall
    if a <= start_ms < b:
        start_ms = b
    end = start_ms + service_ms
    if start_ms < a < end:
        end += b - a
    return end


def coordinated_omission(
    *,
    interval_ms: float = 10.0,
    service_ms: float = 1.0,
    stall_ms: float = 1000.0,
    stall_at_ms: float = 5000.0,
    duration_ms: float = 20_000.0,
) -> dict[str, Any]:
    """One server with a stall, measured by a closed-loop and an open-loop load generator.

    The server does ``service_ms`` of work per request, one at a time, first come first served,
    and nothing at all from ``stall_at_ms`` for ``stall_ms``.

    * Closed loop (a benchmark loop, wrk, a ``for { t := time.Now(); call(); record(t) }``):
      send, wait for the reply, record it, send the next at the next ``interval_ms`` tick or at
      once if that tick has passed. During the stall it sends nothing, so the stall is one sample.
    * Open loop (users, or wrk2): a request every ``interval_ms`` whatever happened, latency
      measured from its *scheduled* time. Every request due during the stall waits for its end.

    Returns the two latency arrays (ms) and their p99s, ``closed_p99_ms`` and ``open_p99_ms``
    (numpy's default linear-interpolation percentile), and ``hand_p99_ms``: the stall minus the
    top 1 % of the open-loop requests times the interval, D - (N / 100) T, what a learner works
    out by hand (it leaves out the service times, which are small)."""
    where = "coordinated_omission"
    t_ms = check_real("interval_ms", interval_ms, 0.0, low_open=True, where=where, **_E)
    s = check_real("service_ms", service_ms, 0.0, low_open=True, where=where, **_E)
    d = check_real("stall_ms", stall_ms, 0.0, where=where, **_E)
    at = check_real("stall_at_ms", stall_at_ms, 0.0, where=where, **_E)
    end = check_real("duration_ms", duration_ms, 0.0, low_open=True, where=where, **_E)
    if s >= t_ms:
        raise PoolParameterError(
            f"service_ms ({s:g}) must be below interval_ms ({t_ms:g}): otherwise the open-loop "
            "queue grows without a stall, and there is nothing to measure"
        )
    stall = (at, at + d)

    closed = []
    send = 0.0
    while send < end:
        done = _serve_with_stall(send, s, stall)
        closed.append(done - send)
        send = max(send + t_ms, done)

    n = int(math.ceil(end / t_ms - 1e-9))
    opened = np.empty(n)
    free = 0.0
    for k in range(n):
        due = k * t_ms
        free = _serve_with_stall(max(due, free), s, stall)
        opened[k] = free - due

    closed_ms = np.array(closed)
    return {
        "closed_ms": closed_ms,
        "open_ms": opened,
        "closed_p99_ms": float(np.percentile(closed_ms, 99.0)),
        "open_p99_ms": float(np.percentile(opened, 99.0)),
        "closed_max_ms": float(closed_ms.max()),
        "open_max_ms": float(opened.max()),
        "hand_p99_ms": d - n / 100.0 * t_ms,
        "requests": n,
    }
