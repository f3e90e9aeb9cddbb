"""The incident's inputs, their defaults (with where each number comes from) and their checks.

Every measured constant below was measured by the course with go1.27.3 on linux/amd64 (2 cores),
with small Go programs built around ``testing.Benchmark`` on a dashboard payload: a slice of
4,000 points ``{series string, ts int64, value float64, host string}`` (311,358 bytes of JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from labkit.errors import ParameterError
from labkit.params import ModelParams, choice, flag, number, whole

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
class IncidentParams(ModelParams):
    """The incident's knobs. Defaults reproduce the article's setting (see each comment)."""

    error: ClassVar[type[ParameterError]] = IncidentParamError

    # dashboards polling; 20 x every 100 ms = 200 QPS, the article's load
    clients: int = whole(20, 1, 200, ui=(1, 60, 1))
    poll_ms: float = number(
        100.0, 10.0, 5_000.0, unit="ms", ui=(20.0, 500.0, 10.0)
    )  # "one message every 100 ms"
    seconds: float = number(2.0, 0.1, 20.0, unit="s")  # simulated run length
    # each poll is up to this much late (browser timer + network)
    jitter_ms: float = number(5.0, 0.0, 1_000.0, unit="ms")
    # JSON body per response
    payload_kb: float = number(128.0, 0.0, 16_384.0, low_open=True, unit="KiB", ui=(16, 2048, 16))
    # the article: fetchFromDB "~8 ms"
    db_median_ms: float = number(8.0, 0.0, 10_000.0, low_open=True, unit="ms", ui=(1, 100, 1))
    db_sigma: float = number(1.0, 0.0, 3.0)  # lognormal log-time spread: the slow DB's tail
    # database/sql SetMaxOpenConns: too few for 200 QPS of ~13 ms queries
    db_pool: int = whole(2, 1, 1_000, ui=(1, 64, 1))
    # "network": pure-Go driver (netpoller); "cgo": blocking call
    db_driver: str = choice("network", DB_DRIVERS)
    # per client: 128 KiB take ~10 ms to send
    bandwidth_mbit_s: float = number(100.0, 0.0, 100_000.0, low_open=True, unit="Mbit/s")
    gomaxprocs: int = whole(4, 1, 64, ui=(1, 16, 1))
    gogc: int = whole(100, 10, 10_000, ui=(25, 800, 25))
    live_mb: float = number(32.0, 0.0, 65_536.0, unit="MiB")  # reachable heap
    draw_ms: float = number(4.0, 0.0, 1_000.0, unit="ms")  # CPU per dashboard frame
    # allocation per frame (chart geometry)
    frame_alloc_kb: float = number(64.0, 0.0, 1_048_576.0, unit="KiB")
    # a loop without calls in the handler (a capstone cause)
    hot_loop_ms: float = number(0.0, 0.0, 10_000.0, unit="ms")
    cache_json: bool = flag(False)  # fix 1: marshal once per refresh, handlers copy the bytes
    stream: bool = flag(False)  # fix 2: encode into the ResponseWriter, overlapping the send
    db_timeout: bool = flag(False)  # fix 3: context.WithTimeout on the query, fall back
    # the article's context.WithTimeout(ctx, 50ms)
    timeout_ms: float = number(50.0, 0.0, 60_000.0, low_open=True, unit="ms", ui=(10, 500, 10))
    seed: int = whole(0, 0, 2**32 - 1)

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


PARAM_NAMES = IncidentParams.names()
