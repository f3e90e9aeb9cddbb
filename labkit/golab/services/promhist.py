"""A runtime/metrics histogram as Prometheus sees it: the Go collector's coarser buckets, and
``histogram_quantile``'s reading of them.

Prometheus's client library for Go exports each runtime/metrics histogram (``/sched/latencies``,
``/gc/pauses`` ...) with fewer buckets than the runtime keeps: ``RuntimeMetricsBucketsForUnit``
(client_golang's prometheus/internal/go_runtime_metrics.go:84-101, Debian's package) keeps, for
a histogram in seconds, the runtime's edges at least a factor of ten apart (``reBucketExp``,
:110-141) and merges everything above one second into +Inf. ``histogram_quantile`` then
interpolates linearly inside the bucket that holds the quantile (Prometheus's
``bucketQuantile``), so a p99 between 0.9 and 10 ms is a point on a straight line across one
bucket, not a measured value. ``exported_buckets`` and ``prometheus_quantile`` redo both on the
counts the service's own ``/debug/metrics`` gave, so a notebook can show how much of a gap
between Prometheus's p99 and runtime/metrics' comes from the buckets alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from labkit.golab.services.errors import ServiceParameterError

__all__ = ["exported_buckets", "prometheus_quantile", "rebucket_exp"]


def rebucket_exp(edges: Sequence[float], base: float) -> list[float]:
    """reBucketExp (go_runtime_metrics.go:110-141): from ascending bucket edges, keep each edge
    at least ``base`` times the last one kept (a leading -Inf is kept, the last edge always)."""
    edges = [float(e) for e in edges]
    if len(edges) < 2:
        raise ServiceParameterError(f"a histogram needs at least two edges, got {len(edges)}")
    out: list[float] = []
    if edges[0] == -math.inf:
        out.append(edges[0])
        edges = edges[1:]
    bucket = edges[0]
    for e in edges[1:]:
        if bucket >= 0 and e < bucket * base:
            continue
        if bucket < 0 and e < bucket / base:
            continue
        out.append(bucket)
        bucket = e
    out.append(bucket)
    return out


def exported_buckets(edges: Sequence[float], unit: str = "seconds") -> list[float]:
    """RuntimeMetricsBucketsForUnit (go_runtime_metrics.go:84-101): the edges the Go collector
    exports for a runtime/metrics histogram in ``unit``. Seconds: powers of ten of the runtime's
    edges, everything above 1 s merged into +Inf; bytes: powers of two; else unchanged."""
    if unit == "bytes":
        return rebucket_exp(edges, 2)
    if unit != "seconds":
        return [float(e) for e in edges]
    b = rebucket_exp(edges, 10)
    for i, e in enumerate(b):
        if e > 1:
            return [*b[:i], math.inf]
    return b


def prometheus_quantile(
    q: float, edges: Sequence[float], counts: Sequence[int], new_edges: Sequence[float]
) -> float:
    """``histogram_quantile(q, ...)`` over a runtime/metrics histogram (``edges``, len(counts) +
    1 of them, each bucket [edges[i], edges[i+1])) re-bucketed to ``new_edges`` (a subset of
    ``edges``, as ``exported_buckets`` gives): the bucket holding rank q x total, and a linear
    interpolation inside it from its lower edge (0 for the first bucket) to its upper one, as
    Prometheus's bucketQuantile does; the lower edge if the quantile falls in the +Inf bucket.
    nan for an empty histogram."""
    if not 0 <= q <= 1:
        raise ServiceParameterError(f"q must be within 0-1, got {q!r}")
    edges_a = np.asarray(edges, dtype=float)
    counts_a = np.asarray(counts, dtype=float)
    if edges_a.size != counts_a.size + 1:
        raise ServiceParameterError(
            f"a histogram has one edge more than its buckets: {edges_a.size} edges for "
            f"{counts_a.size} counts"
        )
    missing = [e for e in new_edges if e not in set(edges_a.tolist())]
    if missing:
        raise ServiceParameterError(
            f"the new edges must be some of the histogram's own ({missing[0]!r} is not)"
        )
    total = counts_a.sum()
    if total == 0:
        return math.nan
    bounds = [e for e in new_edges if e != -math.inf]  # Prometheus's upper bounds (le)
    # Each runtime bucket [lo, hi) goes into the first exported bucket whose le >= hi.
    per = np.zeros(len(bounds))
    for hi, c in zip(edges_a[1:], counts_a, strict=True):
        k = next((i for i, le in enumerate(bounds) if le >= hi), len(bounds) - 1)
        per[k] += c
    rank = q * total
    cum = np.cumsum(per)
    k = int(np.searchsorted(cum, rank, side="left"))
    upper = bounds[k]
    lower = bounds[k - 1] if k > 0 else 0.0
    if math.isinf(upper):
        return float(lower)
    before = cum[k - 1] if k > 0 else 0.0
    return float(lower + (upper - lower) * (rank - before) / per[k])
