"""The source article's chapter-5 runtime claims, each checked against a real run's evidence.

Chapter 5 answers each claim from the Go source (its myth boxes); here each is put to the real
dashboard's own artefacts: the execution trace's wait profiles (what ``go tool trace
-pprof=net|syscall|sched`` writes, :meth:`labkit.traces.Trace.to_profile`), runtime/metrics and
the CPU and goroutine profiles. Each :class:`ClaimCheck` carries the numbers and a verdict
reached by a rule written beside it, so a run in which the claim held would say so: the rules
are tested on runs doctored to make each claim true (tests/test_services_claims.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.golab.services.compare import metric_delta
from labkit.golab.services.errors import ServiceParameterError
from labkit.golab.services.result import ServiceRun
from labkit.golab.services.waits import waits_by_caller
from labkit.profiles import Profile

__all__ = ["ClaimCheck", "article_claims", "format_claims"]

#: A scheduling latency below this at p99 means no P was "hungry": goroutines got a P within it.
HUNGER_P99_MS = 1.0
#: The article's share of gopark in its profile, and the share below which a CPU profile refutes it.
ARTICLE_GOPARK_SHARE = 0.43
GOPARK_REFUTED_BELOW = 0.05
#: Mark assists as a share of all CPU below which they cannot be what delays the network.
ASSIST_REFUTED_BELOW = 0.05


@dataclass(frozen=True)
class ClaimCheck:
    """One claim: its id (the myth box's ``data-claim`` in chapter 5), what the article says,
    what the run shows (with numbers), and ``holds``: False when the evidence refutes it."""

    claim: str
    article: str
    evidence: str
    holds: bool

    @property
    def verdict(self) -> str:
        return "consistent with this run" if self.holds else "refuted by this run"


def _share(profile: Profile, sample_type: str | int | None, needle: str) -> float:
    stacks = profile.stacks(sample_type)
    total = sum(stacks.values())
    if total == 0:
        return 0.0
    return sum(v for stack, v in stacks.items() if any(needle in f for f in stack)) / total


def _delay_ms(profile: Profile, needle: str | None = None) -> tuple[float, int]:
    """(total delay in ms, waits) of a trace wait profile, of stacks containing ``needle``."""
    delay = count = 0
    d, c = profile.stacks("delay"), profile.stacks("contentions")
    for stack, v in d.items():
        if needle is None or any(needle in f for f in stack):
            delay += v
            count += c.get(stack, 0)
    return delay / 1e6, count


def _http_read(run: ServiceRun) -> ClaimCheck:
    net = run.trace.to_profile("net")  # type: ignore[union-attr]
    sysc = run.trace.to_profile("syscall")  # type: ignore[union-attr]
    net_ms, net_n = _delay_ms(net, "internal/poll.(*FD).Read")
    read_ms, read_n = _delay_ms(sysc, "syscall.read")
    return ClaimCheck(
        "http-read-syscall",
        "an HTTP read is a blocking system call that holds its thread and P",
        f"in the {run.trace.end_ms:.0f} ms trace, reads waited {net_ms:.1f} ms in {net_n} "  # type: ignore[union-attr]
        f"network waits (parked in the netpoller: no thread, no P) and {read_ms:.2f} ms in "
        f"{read_n} read system calls (each returns at once, EAGAIN when nothing is there)",
        holds=read_ms > net_ms,
    )


def _p_hunger(run: ServiceRun) -> ClaimCheck:
    f = run.figures()
    sched = run.trace.to_profile("sched")  # type: ignore[union-attr]
    sched_ms, _ = _delay_ms(sched)
    # The service's own waits: the tracer's goroutines and pprof's handlers wait too (waits.py).
    sync_ms = waits_by_caller(run.trace.to_profile("sync")).service / 1e6  # type: ignore[union-attr]
    p99 = f["sched_latency_p99_ms"]
    return ClaimCheck(
        "p-hunger",
        "goroutines queue for Ps held by long system calls: a scheduling avalanche",
        f"/sched/latencies p99 {p99 * 1e3:.0f} us over the load (runtime/metrics) while request "
        f"p99 was {f['p99_ms']:.0f} ms; in the trace, goroutines waited {sched_ms:.0f} ms for a "
        f"P in all and {sync_ms:.0f} ms on channels, selects and locks (the collector's own "
        "waits left out)",
        holds=p99 >= HUNGER_P99_MS,
    )


def _assist_netpoll(run: ServiceRun) -> ClaimCheck:
    assist = metric_delta(run, "/cpu/classes/gc/mark/assist:cpu-seconds")
    total = metric_delta(run, "/cpu/classes/total:cpu-seconds")
    share = assist / total if total > 0 else 0.0
    return ClaimCheck(
        "assist-netpoll",
        "mark assists (8 % -> 34 %) preempt the netpoller, so network events wait > 2 ms",
        f"mark assists took {100 * share:.2f} % of the CPU time GOMAXPROCS allows over the "
        "load (/cpu/classes/gc/mark/assist over /cpu/classes/total); an assist runs inside the "
        "allocating goroutine "
        f"(gcAssistAlloc) and stops no other P from polling the network",
        holds=share >= ASSIST_REFUTED_BELOW,
    )


def _gopark(run: ServiceRun) -> ClaimCheck:
    cpu_share = _share(run.cpu, "cpu", "runtime.gopark")  # type: ignore[arg-type]
    g = run.goroutines[0]
    parked = _share(g, None, "runtime.gopark")
    return ClaimCheck(
        "gopark-43",
        f"gopark takes {100 * ARTICLE_GOPARK_SHARE:.0f} % of the profile",
        f"runtime.gopark is in {100 * cpu_share:.1f} % of the CPU profile's time, and in "
        f"{100 * parked:.0f} % of the {g.total()} goroutines of the goroutine profile "
        f"(debug=0): a parked goroutine uses no CPU; gopark tops the goroutine profile, which "
        f"counts goroutines, not time",
        holds=cpu_share >= GOPARK_REFUTED_BELOW,
    )


def article_claims(run: ServiceRun) -> list[ClaimCheck]:
    """Chapter 5's four runtime claims checked on a dashboard run with a trace, a CPU profile
    and a goroutine profile."""
    if run.service != "dashboard":
        raise ServiceParameterError(
            f"the article's chapter-5 claims are about the dashboard; got a run of {run.service!r}"
        )
    missing = [n for n, a in (("trace", run.trace), ("cpu", run.cpu)) if a is None]
    if 0 not in run.goroutines:
        missing.append("goroutine profile (debug=0)")
    if missing:
        raise ServiceParameterError(
            f"this run has no {', '.join(missing)}; run it with trace_seconds > 0 (the default "
            "collects every profile)"
        )
    return [_http_read(run), _p_hunger(run), _assist_netpoll(run), _gopark(run)]


def format_claims(checks: list[ClaimCheck]) -> str:
    """The checks as text: the claim, the verdict, the evidence."""
    out = []
    for c in checks:
        out.append(f"[{c.claim}] the article: {c.article}")
        out.append(f"  {c.verdict}: {c.evidence}")
    return "\n".join(out)
