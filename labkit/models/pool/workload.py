"""The requests a pool has to serve: when they arrive and how much work each one is.

A workload is drawn once from one seeded ``numpy.random.Generator`` and can then be served by any
policy, which is how :func:`labkit.models.pool.compare_policies` gives every policy the *same* arrivals
and service times (common random numbers: the differences between policies are then the
policies', not the dice's).

Each request's service time is split in two phases, in this order:

* ``io_ms``: time blocked in a network wait (a database reply, say). The goroutine is parked by
  gopark and readied by the netpoller (runtime.netpoll, src/runtime/netpoll.go); it holds neither a
  P nor an M meanwhile, so it does not need CPU.
* ``cpu_ms``: computation, which only runs while the goroutine holds a P.

``cpu_bound`` is the CPU share: 1.0 is pure computation, 0.0 pure waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labkit.models.pool.params import PoolParams


@dataclass(frozen=True, eq=False)
class Workload:
    """Arrival times (s, sorted) and per-request demands (ms), read-only arrays of equal length."""

    arrival_s: np.ndarray
    service_ms: np.ndarray
    io_ms: np.ndarray
    cpu_ms: np.ndarray

    def __len__(self) -> int:
        return int(self.arrival_s.size)


def _rate_segments(params: PoolParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Piecewise-constant arrival rate over [0, duration): segment starts, lengths and rates."""
    end_s = params.duration_s
    burst = params.burst
    if burst is None or burst.off_s == 0.0:
        rate = params.arrival_rate if burst is None else burst.rate
        return np.array([0.0]), np.array([end_s]), np.array([rate])
    cycles = math.ceil(end_s / burst.period_s)
    cycle_start = np.arange(cycles) * burst.period_s
    # off period first, then the burst (see labkit.models.pool.params.Burst)
    starts = np.stack([cycle_start, cycle_start + burst.off_s], axis=1).reshape(-1)
    rates = np.tile([params.arrival_rate, burst.rate], cycles)
    keep = starts < end_s
    starts, rates = starts[keep], rates[keep]
    ends = np.minimum(np.append(starts[1:], end_s), end_s)
    return starts, ends - starts, rates


def poisson_arrivals_s(params: PoolParams, rng: np.random.Generator) -> np.ndarray:
    """Poisson arrivals over [0, duration_s), piecewise-constant rate (bursts), sorted, seconds.

    Within a segment of length L at rate r a Poisson process has N ~ Poisson(r L) points placed
    independently and uniformly; drawing it that way is exact and vectorised.
    """
    starts, lengths, rates = _rate_segments(params)
    counts = rng.poisson(rates * lengths)
    offsets = rng.random(int(counts.sum())) * np.repeat(lengths, counts)
    times = np.repeat(starts, counts) + offsets
    times.sort(kind="stable")
    return times


def service_times_ms(params: PoolParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """Service demand per request, mean ``service_ms`` for every distribution.

    ``"exp"``: exponential (M/M/c's service, for the Erlang C check); ``"const"``: every request the
    same; ``"lognormal"``: heavy right tail, log-time ~ Normal(mu, service_sigma) with
    mu = ln(service_ms) - sigma^2 / 2 so that the mean stays ``service_ms``.
    """
    if params.service == "exp":
        return rng.exponential(params.service_ms, n)
    if params.service == "const":
        return np.full(n, params.service_ms)
    sigma = params.service_sigma
    return rng.lognormal(math.log(params.service_ms) - sigma * sigma / 2.0, sigma, n)


def make_workload(params: PoolParams, replay_s: np.ndarray | None = None) -> Workload:
    """Draw the workload for ``params`` from ``numpy.random.default_rng(params.seed)``.

    Arrivals are drawn first, then service times, from the one generator of the run; replayed
    arrivals (``replay_s``) are used as given.
    """
    rng = np.random.default_rng(params.seed)
    arrival_s = poisson_arrivals_s(params, rng) if replay_s is None else np.array(replay_s)
    service_ms = service_times_ms(params, arrival_s.size, rng)
    cpu_ms = service_ms * params.cpu_bound
    io_ms = service_ms - cpu_ms
    for array in (arrival_s, service_ms, io_ms, cpu_ms):
        array.setflags(write=False)
    return Workload(arrival_s=arrival_s, service_ms=service_ms, io_ms=io_ms, cpu_ms=cpu_ms)
