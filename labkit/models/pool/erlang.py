"""Erlang C: the M/M/c queue's exact answer, to check the simulated static pool against.

A static pool of c workers on at least c Ps, with Poisson arrivals and exponential service, *is*
an M/M/c queue (see :mod:`labkit.models.pool.fifo`), so its long-run mean wait must match
``erlang_c_wait_ms``. The course uses it the other way round too: the formula says how many
workers a load needs before any simulation runs.
"""

from __future__ import annotations

import math

from labkit.models.pool.params import PoolParameterError
from labkit.validation import check_int, check_real

_E = {"error": PoolParameterError}


def erlang_b(offered_erlangs: float, workers: int) -> float:
    """Erlang's B formula: the blocking probability of c servers without a queue (M/M/c/c).

    Computed by the recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)), which stays finite
    for any c where the factorial form (a^c / c!) / sum_k a^k / k! overflows. ``workers=0``
    gives B(0) = 1."""
    a = check_real("offered_erlangs", offered_erlangs, 0.0, where="erlang_b", **_E)
    c = check_int("workers", workers, 0, where="erlang_b", **_E)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c_probability(offered_erlangs: float, workers: int) -> float:
    """Probability an arriving request has to wait (Erlang's C formula); 1.0 when a >= c.

    C = c B / (c - a (1 - B)) from Erlang B (:func:`erlang_b`), finite for any c.
    """
    a = check_real("offered_erlangs", offered_erlangs, 0.0, where="erlang_c_probability", **_E)
    c = check_int("workers", workers, 1, where="erlang_c_probability", **_E)
    if a >= c:
        return 1.0
    b = erlang_b(a, c)
    return c * b / (c - a * (1.0 - b))


def erlang_c_wait_ms(arrival_rate: float, service_ms: float, workers: int) -> float:
    """Mean time in queue (ms) of an M/M/c queue: C(c, a) * service_ms / (c - a).

    ``arrival_rate`` per second, ``service_ms`` the mean service time, ``workers`` = c; the
    offered load is a = arrival_rate * service_ms / 1000 Erlangs. At a >= c (utilisation
    rho = a / c >= 1) there is no steady state and the queue grows without bound: the result is
    ``math.inf``.
    """
    where = "erlang_c_wait_ms"
    rate = check_real("arrival_rate", arrival_rate, 0.0, unit="/s", where=where, **_E)
    service = check_real("service_ms", service_ms, 0.0, low_open=True, where=where, **_E)
    c = check_int("workers", workers, 1, where=where, **_E)
    a = rate * service / 1000.0
    if a >= c:
        return math.inf
    return erlang_c_probability(a, c) * service / (c - a)
