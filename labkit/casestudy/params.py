"""The incident's inputs, their defaults (with where each number comes from) and their checks.

Every measured constant below was measured by the course with go1.27.3 on linux/amd64 (2 cores),
with small Go programs built around ``testing.Benchmark`` on a dashboard payload: a slice of
4,000 points ``{series string, ts int64, value float64, host string}`` (311,358 bytes of JSON).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from labkit.errors import ParameterError

# ---- measured on go1.27.3 (see the module docstring) ----------------------------------------

#: json.Marshal CPU per KiB of output: 5.76-5.86 us/KiB for 75-304 KiB bodies (10.3 us/KiB at
#: 1.2 MiB, where the buffer outgrows the caches; the model keeps the small-body figure).
MARSHAL_US_PER_KB = 5.8
#: json.Marshal allocates 1.05x the body in 3 allocations. In go1.27 encoding/json's Marshal is
#: json/v2's with the v1 options (src/encoding/json/v2_encode.go:185; GOEXPERIMENT=jsonv2 is on
#: by default, src/internal/buildcfg/exp.go:87; encode.go is not even compiled): its encoder and
#: buffer come from a pool (export.GetBufferedEncoder, encoding/json/v2/arshal.go:164) and only
#: the returned copy is new (bytes.Clone, arshal.go:172). The article's "142 objects per request"
#: is not what Go 1.27 does for these flat rows; the allocation is dominated by the rows decoded
#: before marshalling.
MARSHAL_ALLOC_PER_BODY_BYTE = 1.05
#: Decoding the DB rows into the point structs (database/sql Rows.Scan into strings, the slice
#: grown by append): 10.3 us/KiB of eventual JSON and 2.49x its size in 8,011 allocations.
DECODE_US_PER_KB = 10.3
DECODE_ALLOC_PER_BODY_BYTE = 2.49
#: json.NewEncoder(w).Encode(v) allocates ~50 bytes per call whatever the size: it encodes into
#: a pooled buffer too and writes it in one Write without a copy (Encoder.Encode,
#: src/encoding/json/v2_stream.go:136).
#: CPU is the same as Marshal's (4.9-5.9 us/KiB measured).
ENCODER_ALLOC_BYTES = 50
#: Copying cached JSON into the response: a memmove of the bytes, ~10 GB/s: 0.1 us/KiB.
COPY_US_PER_KB = 0.1
#: net/http reading and parsing a small GET request (readRequest): ~50 us per request.
PARSE_REQUEST_MS = 0.05

# ---- the dashboard ----------------------------------------------------------------------------

#: The dashboard's target frame rate and budget: 60 fps, 16.67 ms per frame.
TARGET_FPS = 60.0
#: A panel whose newest point is older than this many poll periods visibly stops moving: with a
#: point every poll_ms, one late poll is interpolated over, a second one freezes the chart.
FRESH_POLLS = 2.0

DB_DRIVERS = ("network", "cgo")
FIXES = ("cache_json", "stream", "db_timeout")


class IncidentParamError(ParameterError):
    """A case-study parameter is out of range; the message names it and the allowed range."""


@dataclass(frozen=True)
class IncidentParams:
    """The incident's knobs. Defaults reproduce the article's setting (see each comment)."""

    clients: int = 20  # dashboards polling; 20 x every 100 ms = 200 QPS, the article's load
    poll_ms: float = 100.0  # the article: "one message every 100 ms"
    seconds: float = 2.0  # simulated run length
    jitter_ms: float = 5.0  # each poll is up to this much late (browser timer + network)
    payload_kb: float = 128.0  # JSON body per response
    db_median_ms: float = 8.0  # the article: fetchFromDB "~8 ms"
    db_sigma: float = 1.0  # lognormal log-time spread of a query: the slow DB's tail
    db_pool: int = 2  # database/sql SetMaxOpenConns: too few for 200 QPS of ~13 ms queries
    db_driver: str = "network"  # "network": pure-Go driver (netpoller); "cgo": blocking call
    bandwidth_mbit_s: float = 100.0  # per client: 128 KiB take ~10 ms to send
    gomaxprocs: int = 4
    gogc: int = 100
    live_mb: float = 32.0  # reachable heap (caches, series buffers)
    draw_ms: float = 4.0  # CPU per dashboard frame
    frame_alloc_kb: float = 64.0  # allocation per frame (chart geometry)
    hot_loop_ms: float = 0.0  # a loop without calls in the handler (a capstone cause)
    cache_json: bool = False  # fix 1: marshal once per refresh, handlers copy the bytes
    stream: bool = False  # fix 2: encode straight into the ResponseWriter, overlapping the send
    db_timeout: bool = False  # fix 3: context.WithTimeout on the query, fall back to a cache
    timeout_ms: float = 50.0  # the article's context.WithTimeout(ctx, 50ms)
    seed: int = 0

    def __post_init__(self) -> None:
        rules: list[tuple[str, Any, bool, str]] = []

        def num(name: str, lo: float, hi: float, lo_open: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > lo if lo_open else v >= lo) and v <= hi
            bound = f"{'>' if lo_open else '>='} {lo:g} and <= {hi:g}"
            rules.append((name, v, ok, f"a number {bound}"))

        def integer(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            ok = isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
            rules.append((name, v, ok, f"an int between {lo} and {hi}"))

        def flag(name: str) -> None:
            v = getattr(self, name)
            rules.append((name, v, isinstance(v, bool), "True or False"))

        integer("clients", 1, 200)
        num("poll_ms", 10.0, 5_000.0)
        num("seconds", 0.1, 20.0)
        num("jitter_ms", 0.0, 1_000.0)
        num("payload_kb", 0.0, 16_384.0, lo_open=True)
        num("db_median_ms", 0.0, 10_000.0, lo_open=True)
        num("db_sigma", 0.0, 3.0)
        integer("db_pool", 1, 1_000)
        v = self.db_driver
        rules.append(("db_driver", v, v in DB_DRIVERS, f"one of {DB_DRIVERS}"))
        num("bandwidth_mbit_s", 0.0, 100_000.0, lo_open=True)
        integer("gomaxprocs", 1, 64)
        integer("gogc", 10, 10_000)
        num("live_mb", 0.0, 65_536.0)
        num("draw_ms", 0.0, 1_000.0)
        num("frame_alloc_kb", 0.0, 1_048_576.0)
        num("hot_loop_ms", 0.0, 10_000.0)
        for name in FIXES:
            flag(name)
        num("timeout_ms", 0.0, 60_000.0, lo_open=True)
        integer("seed", 0, 2**32 - 1)
        for name, value, ok, rule in rules:
            if not ok:
                raise IncidentParamError(f"{name} must be {rule}; got {value!r}")

    @property
    def requests(self) -> int:
        """Requests in the run: each client polls every poll_ms for ``seconds``."""
        return self.clients * self.polls_per_client

    @property
    def polls_per_client(self) -> int:
        return max(1, int(self.seconds * 1000.0 // self.poll_ms))

    @property
    def frame_ms(self) -> float:
        return 1000.0 / TARGET_FPS

    @property
    def body_bytes(self) -> float:
        return self.payload_kb * 1024.0

    @property
    def transfer_ms(self) -> float:
        """Time to send one body at the client's bandwidth."""
        return self.body_bytes * 8.0 / (self.bandwidth_mbit_s * 1e6) * 1000.0

    def fixes(self) -> tuple[str, ...]:
        """The fixes switched on, in the chapter's order."""
        return tuple(f for f in FIXES if getattr(self, f))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PARAM_NAMES = tuple(f.name for f in fields(IncidentParams))


def make_params(base: IncidentParams | None = None, **overrides: Any) -> IncidentParams:
    """``base`` (default: the incident) with ``overrides``; unknown names raise, naming them."""
    unknown = sorted(set(overrides) - set(PARAM_NAMES))
    if unknown:
        raise IncidentParamError(
            f"unknown parameter(s) {unknown}; the case study takes {list(PARAM_NAMES)}"
        )
    values = (base or IncidentParams()).as_dict()
    values.update(overrides)
    return IncidentParams(**values)
