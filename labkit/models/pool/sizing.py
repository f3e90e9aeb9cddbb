"""Comparing policies and sizing a pool, always on the same seeded requests.

Every helper here draws the workload once and serves that one workload under each variant
(common random numbers), so a difference in p99 between two rows comes from the policies, not
from one of them having drawn an unlucky burst.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from labkit.models.pool.params import POLICIES, PoolParameterError
from labkit.models.pool.result import PoolResult, build_result
from labkit.models.pool.simulate import prepare_params, serve
from labkit.models.pool.workload import make_workload
from labkit.validation import check_int, check_real

# Knobs that change how requests are served but not which requests arrive, so a variant may
# override them without breaking common random numbers.
POLICY_KNOBS = frozenset(
    {
        "workers",
        "gomaxprocs",
        "time_slice_ms",
        "spawn_us",
        "interval_ms",
        "high_samples",
        "high_factor",
        "grow_step",
        "shrink_step",
        "min_workers",
        "max_workers",
    }
)

# min_workers_for_p99 gives up once this many pool sizes beyond GOMAXPROCS in a row brought no
# better p99: past that point extra workers only queue for the same Ps.
NO_GAIN_PATIENCE = 8


class TargetUnreachableError(PoolParameterError):
    """No static pool size meets the p99 target; the message says why and what was closest."""


def _variant(entry: str | Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(label, policy, overrides) of one entry of ``policies``."""
    if isinstance(entry, str):
        return entry, entry, {}
    if not isinstance(entry, Mapping) or "policy" not in entry:
        raise PoolParameterError(
            f"each entry of policies must be a policy name or a dict with a 'policy' key, "
            f"got {entry!r}"
        )
    overrides = {k: v for k, v in entry.items() if k not in ("policy", "label")}
    unknown = sorted(set(overrides) - POLICY_KNOBS)
    if unknown:
        raise PoolParameterError(
            f"policies entry {entry!r} overrides {', '.join(unknown)}, which would change the "
            f"requests themselves; a variant may only set {', '.join(sorted(POLICY_KNOBS))}"
        )
    policy = entry["policy"]
    return str(entry.get("label", policy)), policy, overrides


def run_policies(
    policies: Sequence[str | Mapping[str, Any]] = POLICIES, **kwargs: Any
) -> list[PoolResult]:
    """Serve one seeded workload under each policy variant; one :class:`PoolResult` each.

    ``kwargs`` are :func:`labkit.models.pool.simulate_pool`'s arguments (not ``policy``). An entry of
    ``policies`` is a policy name, or a dict such as ``{"policy": "static", "workers": 8,
    "label": "static x8"}`` overriding serving knobs (:data:`POLICY_KNOBS`) for that variant.
    """
    if "policy" in kwargs:
        raise PoolParameterError("pass the policies to compare in policies=, not policy=")
    variants = [_variant(entry) for entry in policies]
    if not variants:
        raise PoolParameterError("policies is empty; name at least one of " + ", ".join(POLICIES))
    base, replay = prepare_params(policy=variants[0][1], **kwargs)
    workload = make_workload(base, replay)
    results = []
    for _label, policy, overrides in variants:
        params, _ = prepare_params(**{**kwargs, **overrides, "policy": policy})
        results.append(build_result(params, workload, serve(params, workload)))
    return results


def _row(label: str, result: PoolResult) -> dict[str, Any]:
    return {
        "label": label,
        "policy": result.params.policy,
        "workers": result.params.workers,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "mean_latency_ms": result.mean_latency_ms,
        "mean_wait_ms": result.mean_wait_ms,
        "mean_workers": result.mean_workers,
        "peak_workers": result.peak_workers,
        "utilisation": result.utilisation,
        "cpu_utilisation": result.cpu_utilisation,
        "completed": result.completed,
        "arrivals": result.arrivals,
        "overloaded": result.overloaded,
    }


def compare_policies(
    policies: Sequence[str | Mapping[str, Any]] = POLICIES, **kwargs: Any
) -> list[dict[str, Any]]:
    """A small table (one dict per variant) of the same requests served by each policy.

    Keys: label, policy, workers, p50_ms, p99_ms, mean_latency_ms, mean_wait_ms, mean_workers,
    peak_workers, utilisation, cpu_utilisation, completed, arrivals, overloaded. See
    :func:`run_policies` for the arguments.
    """
    labels = [_variant(entry)[0] for entry in policies]
    results = run_policies(policies, **kwargs)
    return [_row(label, result) for label, result in zip(labels, results, strict=True)]


def sweep_workers(worker_counts: Iterable[int], **kwargs: Any) -> list[dict[str, Any]]:
    """The :func:`compare_policies` table for static pools of each size, on the same requests."""
    if "workers" in kwargs:
        raise PoolParameterError("pass the pool sizes in worker_counts, not workers=")
    counts = [
        check_int("worker_counts entry", c, 1, error=PoolParameterError, where="sweep_workers")
        for c in worker_counts
    ]
    variants = [{"policy": "static", "workers": c, "label": f"static x{c}"} for c in counts]
    return compare_policies(variants, **kwargs)


def min_workers_for_p99(target_p99_ms: float, *, limit: int | None = None, **kwargs: Any) -> int:
    """The smallest static pool whose simulated p99 latency is at most ``target_p99_ms``.

    ``kwargs`` are :func:`labkit.models.pool.simulate_pool`'s (not ``policy`` or ``workers``); every
    size is tried on the same seeded requests. Sizes below the offered load
    (arrival rate x mean service time, in workers) are skipped: such a pool is overloaded and its
    queue grows without bound, so a finite run's p99 means nothing there. Sizes are then tried
    upward one by one (no assumption that p99 falls with size: past GOMAXPROCS, CPU-bound
    workers only wait for the same Ps, and p99 can rise).

    Raises :class:`TargetUnreachableError` when the target is below the service times' own p99,
    when the Ps cannot carry the CPU load at any pool size, when p99 stopped improving for
    NO_GAIN_PATIENCE sizes past GOMAXPROCS, or at ``limit`` workers (default: offered load + 256).
    """
    target = check_real(
        "target_p99_ms", target_p99_ms, 0.0, low_open=True, unit="ms", error=PoolParameterError,
        where="min_workers_for_p99",
    )  # fmt: skip
    for name in ("policy", "workers"):
        if name in kwargs:
            raise PoolParameterError(f"min_workers_for_p99 chooses {name} itself; do not pass it")
    base, replay = prepare_params(policy="static", **kwargs)
    workload = make_workload(base, replay)
    if len(workload) == 0:
        raise TargetUnreachableError("no requests arrive with these arguments; nothing to size")
    service_p99 = float(np.percentile(workload.service_ms, 99.0))
    if target < service_p99:
        raise TargetUnreachableError(
            f"target_p99_ms={target:g} is below the p99 of the service times themselves "
            f"({service_p99:.1f} ms): no pool can serve a request faster than its own work"
        )
    cpu_ms = base.mean_cpu_ms
    if cpu_ms > 0 and base.mean_arrival_rate_per_s >= base.gomaxprocs * 1000.0 / cpu_ms:
        raise TargetUnreachableError(
            f"the CPU work alone needs {base.mean_arrival_rate_per_s * cpu_ms / 1000.0:.2f} Ps "
            f"but GOMAXPROCS={base.gomaxprocs}: no number of workers can keep up; raise "
            "gomaxprocs or lower the load"
        )
    offered = base.mean_arrival_rate_per_s * base.service_ms / 1000.0
    lowest = max(1, math.floor(offered) + 1)
    if limit is None:
        limit = lowest + 256
    limit = check_int("limit", limit, 1, error=PoolParameterError, where="min_workers_for_p99")

    best_p99, best_workers, since_gain = math.inf, 0, 0
    for workers in range(lowest, limit + 1):
        params, _ = prepare_params(policy="static", workers=workers, **kwargs)
        p99 = build_result(params, workload, serve(params, workload)).p99_ms
        if p99 <= target:
            return workers
        if p99 < best_p99 * (1.0 - 1e-3):
            best_p99, best_workers, since_gain = p99, workers, 0
        elif workers > base.gomaxprocs:
            since_gain += 1
            if since_gain >= NO_GAIN_PATIENCE:
                raise TargetUnreachableError(
                    f"p99 stopped improving: best {best_p99:.1f} ms with {best_workers} workers, "
                    f"target {target:g} ms; past GOMAXPROCS={base.gomaxprocs} more workers only "
                    "queue for the same Ps (raise gomaxprocs, or the work is CPU-bound)"
                )
    raise TargetUnreachableError(
        f"no pool of {lowest}..{limit} workers meets p99 <= {target:g} ms (best {best_p99:.1f} ms "
        f"with {best_workers}); pass a larger limit"
    )
