"""One run of a service, everything it collected loaded by labkit, and its recording on disk.

A :class:`ServiceRun` holds the latency figures (the load generator's for the dashboard, the
frame loop's own for render), the service's counters and runtime/metrics before and after the
load, every profile loaded with :func:`labkit.profiles.load_profile` and the execution trace with
:func:`labkit.traces.load_trace`, and the Prometheus series of the run's queries. ``save(dir)``
writes it as a recording (``run.json`` plus each artefact as Go served it); :func:`load_run`
reads one back, the same object with ``source="recorded"``.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labkit.golab.services.errors import RecordingError
from labkit.golab.services.params import SERVICES, CollectParams, DashboardParams, RenderParams
from labkit.golab.services.prometheus import Series
from labkit.profiles import Profile, load_profile
from labkit.traces import Trace, load_trace

__all__ = ["ARTEFACT_FILES", "ServiceRun", "histogram_delta", "histogram_quantile", "load_run"]

#: Each artefact's file in a recording: as Go served it (gzip protobuf, debug text, trace).
ARTEFACT_FILES = {
    "cpu": "cpu.pb.gz",
    "goroutine-0": "goroutine-0.pb.gz",
    "goroutine-1": "goroutine-1.txt",
    "goroutine-2": "goroutine-2.txt",
    "block": "block.pb.gz",
    "mutex": "mutex.pb.gz",
    "trace": "trace.trace.gz",  # gzip-compressed here (a third of the size); Go serves it raw
}
RUN_FILE = "run.json"


def _edge(x: Any) -> float:
    return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(x, x)  # type: ignore[arg-type]


def histogram_delta(
    before: Mapping[str, Any], after: Mapping[str, Any], name: str
) -> tuple[np.ndarray, np.ndarray]:
    """(bucket edges, counts added between two /debug/metrics snapshots) of histogram ``name``
    (a runtime/metrics Float64Histogram: len(edges) == len(counts) + 1)."""
    try:
        b, a = before["metrics"][name], after["metrics"][name]
    except KeyError as exc:
        raise RecordingError(f"runtime/metrics has no histogram {name!r} in this run") from exc
    edges = np.array([_edge(x) for x in a["buckets"]], dtype=float)
    counts = np.array(a["counts"], dtype=np.int64) - np.array(b["counts"], dtype=np.int64)
    return edges, counts


def histogram_quantile(edges: np.ndarray, counts: np.ndarray, q: float) -> float:
    """The upper edge of the bucket holding quantile ``q`` (an upper bound, as the runtime's
    buckets are all one knows); nan when the histogram is empty."""
    total = int(counts.sum())
    if total == 0:
        return math.nan
    k = int(np.searchsorted(np.cumsum(counts), q * total, side="left"))
    upper = edges[k + 1]
    return float(upper if math.isfinite(upper) else edges[k])


def _metric(snapshot: Mapping[str, Any], name: str) -> float:
    v = snapshot.get("metrics", {}).get(name)
    return float(v) if isinstance(v, int | float) else math.nan


@dataclass(frozen=True)
class ServiceRun:
    """A run of ``service`` ("render" or "dashboard"), live or recorded.

    ``latency``: for the dashboard the load generator's latency from each request's intended
    send time (ms: p50, p90, p99, p999, max, mean); for render the frame times (ms).
    ``figures()`` gives the headline numbers; ``goroutines`` maps debug level 0/1/2 to its
    profile; ``series`` maps each name of ``queries`` to the Prometheus series it returned
    (times in unix s; ``window`` is the load's start and end in unix s).
    """

    service: str
    params: RenderParams | DashboardParams
    collect: CollectParams
    source: str
    latency: Mapping[str, float]
    load: Mapping[str, Any] | None
    records: np.ndarray | None
    stats_before: Mapping[str, Any]
    stats_after: Mapping[str, Any]
    metrics_before: Mapping[str, Any]
    metrics_after: Mapping[str, Any]
    cpu: Profile | None
    goroutines: Mapping[int, Profile]
    block: Profile | None
    mutex: Profile | None
    trace: Trace | None
    queries: Mapping[str, str]
    series: Mapping[str, list[Series]]
    window: tuple[float, float]
    meta: Mapping[str, Any]
    artefacts: Mapping[str, bytes] = field(repr=False)
    note: str = ""

    def sched_latencies(self) -> tuple[np.ndarray, np.ndarray]:
        """/sched/latencies:seconds over the load: (bucket edges in s, counts)."""
        return histogram_delta(self.metrics_before, self.metrics_after, "/sched/latencies:seconds")

    def figures(self) -> dict[str, Any]:
        """The run's headline numbers (latency, throughput, what the service counted, the
        scheduler's and GC's figures over the load)."""
        seconds = self.window[1] - self.window[0]
        edges, counts = self.sched_latencies()
        gc_before = _metric(self.metrics_before, "/gc/cycles/total:gc-cycles")
        gc_after = _metric(self.metrics_after, "/gc/cycles/total:gc-cycles")
        out: dict[str, Any] = {
            "seconds": seconds,
            "sched_latency_p50_ms": histogram_quantile(edges, counts, 0.5) * 1e3,
            "sched_latency_p99_ms": histogram_quantile(edges, counts, 0.99) * 1e3,
            "gc_cycles": gc_after - gc_before,
            "threads": _metric(self.metrics_after, "/sched/threads/total:threads"),
            "goroutines": _metric(self.metrics_after, "/sched/goroutines:goroutines"),
        }
        sb, sa = self.stats_before, self.stats_after
        if self.service == "dashboard" and self.load is not None:
            load = self.load
            out.update({f"{k}_ms": v for k, v in self.latency.items()})
            out.update(
                throughput_rps=load["throughput_rps"],
                sent=load["sent"],
                completed=load["completed"],
                errors=sum(load["errors"].values()),
                status=dict(load["status"]),
                fallbacks=load["fallbacks"],
                service_p99_ms=load["service_ms"].get("p99", math.nan),
            )
            for kind in ("ok", "cancelled", "error"):
                n = sa["queries"].get(kind, 0) - sb["queries"].get(kind, 0)
                out[f"queries_{kind}"] = n
            cancelled = out["queries_cancelled"]
            if cancelled:
                out["cancelled_query_ms_mean"] = (
                    sa["cancelled_ms_sum"] - sb["cancelled_ms_sum"]
                ) / cancelled
                out["cancelled_planned_ms_mean"] = (
                    sa["cancelled_planned_ms_sum"] - sb["cancelled_planned_ms_sum"]
                ) / cancelled
            out["pool_waits"] = sa["pool_wait_count"] - sb["pool_wait_count"]
            out["pool_wait_ms"] = sa["pool_wait_ms"] - sb["pool_wait_ms"]
            out["render_fps"] = sa["fps"]
        elif self.service == "render":
            frames = sa["frames"] - sb["frames"]
            out.update(
                frames=frames,
                fps=frames / seconds if seconds > 0 else math.nan,
                late_frames=sa["late_frames"] - sb["late_frames"],
                dropped_frames=sa["dropped_frames"] - sb["dropped_frames"],
            )
            out.update({f"frame_{k}_ms": v for k, v in self.latency.items()})
        return out

    def summary(self) -> str:
        f = self.figures()
        if self.service == "dashboard":
            head = (
                f"dashboard ({self.params.db}): p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} "
                f"ms, {f['throughput_rps']:.1f} req/s, {f['errors']} errors, "
                f"{f['fallbacks']} fallbacks"
            )
        else:
            head = (
                f"render: {f['fps']:.1f} fps, {f['late_frames']} late and "
                f"{f['dropped_frames']} dropped frames, frame p99 {f['frame_p99_ms']:.1f} ms"
            )
        return f"{head}; {f['gc_cycles']:g} GC cycles, {self.source}"

    # ---- recording ------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "params": self.params.as_dict(),
            "collect": self.collect.as_dict(),
            "latency": dict(self.latency),
            "load": self.load,
            "records": None if self.records is None else self.records.tolist(),
            "stats_before": self.stats_before,
            "stats_after": self.stats_after,
            "metrics_before": self.metrics_before,
            "metrics_after": self.metrics_after,
            "queries": dict(self.queries),
            "series": {k: [s.to_json() for s in v] for k, v in self.series.items()},
            "window": list(self.window),
            "meta": self.meta,
            "artefacts": sorted(self.artefacts),
        }

    def save(self, directory: str | Path) -> Path:
        """Write this run as a recording into ``directory`` (created); returns it."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name, data in self.artefacts.items():
            if ARTEFACT_FILES[name].endswith(".trace.gz"):
                data = gzip.compress(data, compresslevel=9, mtime=0)
            (d / ARTEFACT_FILES[name]).write_bytes(data)
        (d / RUN_FILE).write_text(json.dumps(self.to_json(), indent=1, allow_nan=True) + "\n")
        return d


def load_artefacts(
    raw: Mapping[str, bytes],
) -> tuple[Profile | None, dict[int, Profile], Profile | None, Profile | None, Trace | None]:
    """Load each fetched artefact with labkit (cpu, goroutines by debug level, block, mutex,
    trace); missing ones are None (or absent from the goroutines dict)."""

    def prof(name: str) -> Profile | None:
        return load_profile(raw[name], name=name) if name in raw else None

    goroutines = {}
    for level in (0, 1, 2):
        p = prof(f"goroutine-{level}")
        if p is not None:
            goroutines[level] = p
    trace = load_trace(raw["trace"], name="trace") if "trace" in raw else None
    return prof("cpu"), goroutines, prof("block"), prof("mutex"), trace


def load_run(directory: str | Path, note: str = "") -> ServiceRun:
    """The recording in ``directory`` as a ServiceRun (``source="recorded"``)."""
    d = Path(directory)
    try:
        data = json.loads((d / RUN_FILE).read_text())
        raw = {name: (d / ARTEFACT_FILES[name]).read_bytes() for name in data["artefacts"]}
        if "trace" in raw:
            raw["trace"] = gzip.decompress(raw["trace"])
        service = data["service"]
        params = SERVICES[service](**data["params"])
        collect = CollectParams(**data["collect"])
    except FileNotFoundError as exc:
        raise RecordingError(
            f"{d}: the recording is incomplete ({exc.filename} is missing)"
        ) from exc
    except (KeyError, TypeError, EOFError, OSError, json.JSONDecodeError) as exc:
        raise RecordingError(
            f"{d}: the recording is damaged ({type(exc).__name__}: {exc})"
        ) from exc
    cpu, goroutines, block, mutex, trace = load_artefacts(raw)
    records = data["records"]
    return ServiceRun(
        service=service,
        params=params,
        collect=collect,
        source="recorded",
        latency=data["latency"],
        load=data["load"],
        records=None if records is None else np.array(records, dtype=float),
        stats_before=data["stats_before"],
        stats_after=data["stats_after"],
        metrics_before=data["metrics_before"],
        metrics_after=data["metrics_after"],
        cpu=cpu,
        goroutines=goroutines,
        block=block,
        mutex=mutex,
        trace=trace,
        queries=data["queries"],
        series={k: [Series.from_json(s) for s in v] for k, v in data["series"].items()},
        window=(float(data["window"][0]), float(data["window"][1])),
        meta=data["meta"],
        artefacts=raw,
        note=note,
    )
