"""A real Prometheus for one run, and its HTTP API.

``start_prometheus`` writes a ``prometheus.yml`` that scrapes each service every
``interval_s`` (100-250 ms: a 5 s run then has 20-50 samples per series; Prometheus has no lower
limit, and the scrape timeout is set to the interval), starts ``prometheus`` on a loopback port
with its TSDB in the run's temporary directory, and waits for ``/-/ready``. ``query_range``
and ``query`` call ``/api/v1/query_range`` and ``/api/v1/query`` and return the series as numpy
arrays. The article's section 3.3 job label is ``renderer``: the render service is scraped under
that job name so its queries run unchanged.
"""

from __future__ import annotations

import json
import math
import shutil
import urllib.error
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labkit.golab.services.errors import (
    PortInUseError,
    PrometheusStartError,
    ServicesMissingError,
)
from labkit.golab.services.procs import Child, Supervisor, check_port_free, http_get, wait_until

__all__ = [
    "Prometheus",
    "Series",
    "query",
    "query_range",
    "start_prometheus",
    "wait_scraping",
    "write_config",
]

INTERVAL_RANGE_S = (0.1, 0.25)


@dataclass(frozen=True)
class Series:
    """One series of a query's answer: its labels, times (unix s) and values."""

    labels: dict[str, str]
    t: np.ndarray
    v: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {"labels": self.labels, "t": self.t.tolist(), "v": _json_values(self.v)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Series:
        v = np.array([math.nan if x is None else x for x in d["v"]], dtype=float)
        return cls(dict(d["labels"]), np.array(d["t"], dtype=float), v)


def _json_values(v: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(x) else float(x) for x in v]


@dataclass(frozen=True)
class Prometheus:
    child: Child
    url: str
    config: str
    command: tuple[str, ...]


def write_config(path: Path, targets: Mapping[str, str], interval_s: float) -> str:
    """Write prometheus.yml scraping each ``job -> host:port`` every ``interval_s``."""
    ms = round(interval_s * 1000)
    lines = ["global:", f"  scrape_interval: {ms}ms", f"  scrape_timeout: {ms}ms", ""]
    lines.append("scrape_configs:")
    for job, addr in targets.items():
        lines += [
            f"  - job_name: {job}",
            "    static_configs:",
            f"      - targets: ['{addr}']",
        ]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def start_prometheus(
    sup: Supervisor, port: int, targets: Mapping[str, str], interval_s: float
) -> Prometheus:
    """Start Prometheus scraping ``targets`` (job -> host:port) and return at once: its
    discovery hands the targets to the scrapers only after about 5 s (the discovery manager's
    update throttle, discovery/manager.go), so the runner starts it first and calls
    :func:`wait_scraping` once the service is up. PortInUseError if the port is taken."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise ServicesMissingError(
            "Prometheus is not installed (no `prometheus` on PATH); Debian: sudo apt-get install "
            "prometheus, or pass prometheus=False to run without it"
        )
    check_port_free(port, "Prometheus")
    home = sup.tempdir("prom")
    config = write_config(home / "prometheus.yml", targets, interval_s)
    argv = (
        binary,
        f"--config.file={home / 'prometheus.yml'}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
        "--log.level=warn",
    )
    child = sup.spawn("prometheus", argv, cwd=home)
    return Prometheus(child, f"http://127.0.0.1:{port}", config, argv)


def _died(c: Child) -> Exception:
    log = c.log_tail()
    if "address already in use" in log:
        return PortInUseError(f"Prometheus could not listen: its port is in use. {log}")
    return PrometheusStartError(f"Prometheus exited (status {c.popen.returncode}): {log}")


def wait_scraping(prom: Prometheus, jobs: list[str], deadline: float) -> None:
    """Wait until Prometheus is ready and has scraped each of ``jobs`` successfully once
    (its target's health is "up"); PrometheusStartError with its log if not by ``deadline``."""

    def ready() -> bool:
        if not http_get(f"{prom.url}/-/ready", 1.0).startswith(b"Prometheus"):
            return False
        targets = json.loads(http_get(f"{prom.url}/api/v1/targets?state=active", 2.0))
        up = {
            t["labels"].get("job") for t in targets["data"]["activeTargets"] if t["health"] == "up"
        }
        return set(jobs) <= up

    wait_until(
        ready,
        [prom.child],
        deadline,
        _died,
        lambda: PrometheusStartError(
            f"Prometheus did not scrape {', '.join(jobs)} in time; its log: {prom.child.log_tail()}"
        ),
        poll_s=0.1,
    )


def _api(url: str, path: str, params: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
    full = f"{url}{path}?{urllib.parse.urlencode(params)}"
    try:
        body = http_get(full, timeout_s)
    except urllib.error.HTTPError as exc:  # a bad query: Prometheus says why in the body
        detail = exc.read().decode(errors="replace")[:500]
        raise PrometheusStartError(f"Prometheus refused {params.get('query')!r}: {detail}") from exc
    except (OSError, urllib.error.URLError) as exc:
        raise PrometheusStartError(f"Prometheus did not answer {full}: {exc}") from exc
    data = json.loads(body)
    if data.get("status") != "success":
        raise PrometheusStartError(f"Prometheus answered {data.get('error')!r} to {params}")
    return data["data"]


def _series(result: list[dict[str, Any]]) -> list[Series]:
    out = []
    for r in result:
        pairs = r.get("values") or ([r["value"]] if "value" in r else [])
        t = np.array([float(p[0]) for p in pairs])
        v = np.array([float(p[1]) for p in pairs])  # "NaN", "+Inf" parse as floats
        out.append(Series(dict(r["metric"]), t, v))
    return out


def query_range(
    url: str, expr: str, start: float, end: float, step_s: float, timeout_s: float = 10.0
) -> list[Series]:
    """``/api/v1/query_range`` of ``expr`` from ``start`` to ``end`` (unix s) every ``step_s``."""
    data = _api(
        url,
        "/api/v1/query_range",
        {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"},
        timeout_s,
    )
    return _series(data["result"])


def query(url: str, expr: str, at: float, timeout_s: float = 10.0) -> list[Series]:
    """``/api/v1/query`` of ``expr`` at ``at`` (unix s): one sample per series."""
    data = _api(url, "/api/v1/query", {"query": expr, "time": f"{at:.3f}"}, timeout_s)
    if data["resultType"] == "scalar":
        return [
            Series({}, np.array([float(data["result"][0])]), np.array([float(data["result"][1])]))
        ]
    return _series(data["result"])
