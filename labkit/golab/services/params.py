"""The parameters of a service run: the service's own (flags and environment) and the collection's.

Each record checks itself (labkit.params): a wrong value raises ServiceParameterError naming the
parameter, the value and the accepted range. ``flags()`` / ``environment()`` turn a record into
the service's command line and GOMAXPROCS / GOGC / GOMEMLIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from labkit.errors import ParameterError
from labkit.golab.services.errors import ServiceParameterError
from labkit.params import ModelParams, choice, flag, number, whole

__all__ = ["SERVICES", "CollectParams", "DashboardParams", "RenderParams"]


def _flag(name: str, value: object) -> str:
    if isinstance(value, bool):
        return f"-{name}={'true' if value else 'false'}"
    return f"-{name}={value:g}" if isinstance(value, float) else f"-{name}={value}"


@dataclass(frozen=True)
class _Runtime(ModelParams):
    """GOMAXPROCS (0: the runtime's default), GOGC (-1: off), GOMEMLIMIT (0: none): the
    environment the runtime reads at start-up. Two Ps by default: the course's machines."""

    error: ClassVar[type[ParameterError]] = ServiceParameterError

    gomaxprocs: int = whole(2, 0, 256, doc="GOMAXPROCS (0: the runtime's default)")
    gogc: int = whole(100, -1, 100_000, doc="GOGC (-1: off)")
    gomemlimit_mib: int = whole(0, 0, 1 << 20, doc="GOMEMLIMIT in MiB (0: none)")

    def environment(self) -> dict[str, str]:
        env = {"GOGC": "off" if self.gogc < 0 else str(self.gogc)}
        if self.gomaxprocs:
            env["GOMAXPROCS"] = str(self.gomaxprocs)
        if self.gomemlimit_mib:
            env["GOMEMLIMIT"] = f"{self.gomemlimit_mib}MiB"
        return env


@dataclass(frozen=True)
class RenderParams(_Runtime):
    """Chapter 1's frame loop (labkit/golab/go/services/render): its flags and runtime settings.
    The defaults are the chapter-1 twin's (labkit/golab/go/frame_loop) on 2 Ps."""

    fps: int = whole(60, 1, 240, doc="target frames per second")
    width: int = whole(1024, 16, 4096, doc="frame width (pixels)")
    height: int = whole(768, 16, 4096, doc="frame height (pixels)")
    producers: int = whole(4, 0, 64, doc="producer goroutines")
    producer_cpu: float = number(0.1, 0.0, 1.0, doc="CPU share each producer keeps busy")
    producer_alloc_mib: float = number(
        2.0, 0.0, 1024.0, unit="MiB/s", doc="each producer's allocation rate"
    )
    live_mib: int = whole(64, 0, 4096, doc="live pointer heap the GC marks each cycle (MiB)")
    pooled: bool = flag(False, doc="frame buffers from a sync.Pool (the fix)")

    def flags(self) -> list[str]:
        names = ("fps", "width", "height", "producers", "producer_cpu", "producer_alloc_mib")
        out = [_flag(n.replace("_", "-"), getattr(self, n)) for n in names]
        return [*out, _flag("live-mib", self.live_mib), _flag("pooled", self.pooled)]


@dataclass(frozen=True)
class DashboardParams(_Runtime):
    """Chapter 5's service (labkit/golab/go/services/dashboard) and the load driven at it.

    ``db``: "sqlite" (go-sqlite3, cgo, the default: nothing to start) or "postgres" (lib/pq,
    pure Go; the runner starts a PostgreSQL). ``slow``: how a query is slow inside the engine,
    "work" (a recursive CTE) or "sleep" (pg_sleep, PostgreSQL only); "auto" is work for SQLite,
    sleep for PostgreSQL (its time then is not the machine's CPU, as with a remote database).
    ``stop_db_at_s``: stop PostgreSQL that many seconds into the load (0: never), to watch the
    service's errors and fallbacks.
    """

    db: str = choice("sqlite", ("sqlite", "postgres"))
    slow: str = choice("auto", ("auto", "work", "sleep"))
    rate: float = number(
        40.0, 0.0, 5000.0, low_open=True, unit="req/s", doc="open-loop arrival rate"
    )
    arrivals: str = choice("poisson", ("poisson", "constant"))
    pool: int = whole(2, 1, 256, doc="database/sql SetMaxOpenConns")
    rows: int = whole(1000, 0, 200_000, doc="points per dashboard (~70 bytes of JSON each)")
    dashboards: int = whole(8, 1, 1000, doc="distinct dashboards the clients ask for")
    db_median_ms: float = number(
        5.0, 0.0, 10_000.0, unit="ms", doc="median query time in the engine"
    )
    db_sigma: float = number(1.0, 0.0, 3.0, doc="lognormal spread of the query time")
    cache_json: bool = flag(False, doc="fix 1: JSON precomputed off the request path")
    stream: bool = flag(False, doc="fix 2: stream the body (io.Copy when cached)")
    db_timeout: bool = flag(False, doc="fix 3: context.WithTimeout on the query, LRU fallback")
    timeout_ms: float = number(50.0, 0.0, 60_000.0, low_open=True, unit="ms")
    hot_loop_ms: float = number(0.0, 0.0, 1000.0, unit="ms", doc="a loop without calls per request")
    frame_cpu_ms: float = number(2.0, 0.0, 16.0, unit="ms", doc="CPU per frame of the 60 fps loop")
    stop_db_at_s: float = number(0.0, 0.0, 600.0, unit="s", doc="stop PostgreSQL mid-run (0: no)")
    seed: int = whole(0, 0, 2**63 - 1)

    def check_together(self) -> None:
        if self.db == "sqlite" and self.slow == "sleep":
            raise self.error(
                "DashboardParams: slow='sleep' needs db='postgres' (SQLite has no sleep inside "
                "the engine); pass slow='work' or 'auto', or db='postgres'"
            )
        if self.stop_db_at_s and self.db != "postgres":
            raise self.error(
                "DashboardParams: stop_db_at_s needs db='postgres' (the runner starts and can "
                "stop PostgreSQL; SQLite lives inside the service); pass db='postgres' or 0"
            )

    @property
    def engine_slow(self) -> str:
        if self.slow != "auto":
            return self.slow
        return "work" if self.db == "sqlite" else "sleep"

    def flags(self) -> list[str]:
        return [
            f"-db={self.db}",
            f"-slow={self.engine_slow}",
            _flag("pool", self.pool),
            _flag("rows", self.rows),
            _flag("dashboards", self.dashboards),
            _flag("db-median-ms", self.db_median_ms),
            _flag("db-sigma", self.db_sigma),
            _flag("cache-json", self.cache_json),
            _flag("stream", self.stream),
            _flag("db-timeout-ms", self.timeout_ms if self.db_timeout else 0.0),
            _flag("hot-loop-ms", self.hot_loop_ms),
            _flag("frame-cpu-ms", self.frame_cpu_ms),
            _flag("seed", self.seed),
        ]


@dataclass(frozen=True)
class CollectParams(ModelParams):
    """How long a run lasts and what it collects while the load runs.

    ``seconds`` of load (the dashboard's open-loop clients; for render, just the loop running),
    after ``warmup_s`` unmeasured. During it: a CPU profile and block / mutex profiles over the
    same window (delta profiles: ``?seconds=``), the goroutine profile (debug=0, 1, 2) at its
    middle, an execution trace of ``trace_seconds`` around its middle (0: none), runtime/metrics
    before and after, and Prometheus scraping every ``scrape_interval_s`` (``prometheus``).
    ``timeout_s`` bounds the whole run after the build.
    """

    error: ClassVar[type[ParameterError]] = ServiceParameterError

    seconds: float = number(5.0, 2.0, 120.0, unit="s")
    warmup_s: float = number(0.5, 0.0, 30.0, unit="s")
    trace_seconds: float = number(1.0, 0.0, 10.0, unit="s")
    prometheus: bool = flag(True)
    scrape_interval_s: float = number(0.2, 0.1, 0.25, unit="s")
    block_rate: int = whole(10_000, 0, 10**9, doc="runtime.SetBlockProfileRate (ns)")
    mutex_fraction: int = whole(5, 0, 10**6, doc="runtime.SetMutexProfileFraction")
    timeout_s: float = number(90.0, 10.0, 1800.0, unit="s")

    def check_together(self) -> None:
        if self.trace_seconds > self.seconds - 0.5:
            raise self.error(
                f"CollectParams: trace_seconds ({self.trace_seconds:g}) must be at most "
                f"seconds - 0.5 ({self.seconds - 0.5:g}): the trace is taken inside the load"
            )
        if self.timeout_s < self.seconds + self.warmup_s + 5:
            raise self.error(
                f"CollectParams: timeout_s ({self.timeout_s:g}) must leave room for the run: at "
                f"least seconds + warmup_s + 5 = {self.seconds + self.warmup_s + 5:g}"
            )


SERVICES: dict[str, type[RenderParams] | type[DashboardParams]] = {
    "render": RenderParams,
    "dashboard": DashboardParams,
}
