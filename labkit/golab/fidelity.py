"""Does the model agree with real Go? ``fidelity_table`` puts them side by side, rule by rule.

Each row names an experiment and its parameters, a quantity, the real value (live, or recorded
when no toolchain is usable), the model's value, and the rule that decides agreement. Two kinds
of rule:

- qualitative: a statement about Go that must hold for the real run *and* for the model (e.g.
  "Sleep(0) gives the other goroutine no turns"); ``agree`` is true when it holds for both;
- quantitative: the real value within a stated tolerance of the model's.

The rules and their reasons (COURSE.md, "Measured on real Go"; the runtime function in brackets):

- yield: no yield and Sleep(0) give the other goroutine no turns [timeSleep returns at once for
  d <= 0]; Gosched gives it one per iteration [goschedImpl -> globrunqput], within 5 %: every
  61st schedule takes the global queue first (schedtick % 61 in findRunnable), and depending on
  which queue each goroutine sits in when it fires, real runs show either exactly one turn per
  iteration or one skipped in every 31 (2 schedules an iteration, 96,774 turns in 100,000);
  Sleep(1ns) about none [the fired timer readies main into runnext, ahead of the other
  goroutine]; Sleep(0) costs under
  a tenth of Gosched per iteration (it is a no-op, not "3.2x slower").
- preempt: with async preemption main resumes 10-30 ms after giving up the CPU [sysmon's
  forcePreemptNS = 10 ms, plus up to one sysmon sleep of up to 10 ms]; without it, only after
  the loop (resume >= 90 % of the loop).
- syscall_handoff: the CPU goroutine is not held up by the syscall: it starts before half the
  syscall has passed and finishes before the syscall returns [retake -> handoffp]; the real
  hand-off delay (cpu_start_ms) within 5 ms of the model's (sysmon ticks every 20 us while busy).
- lockosthread: affinity unchanged; makespan with the locked sleeper at most 15 % longer than
  without [a sleeping locked G holds no P: stoplockedm hands it off]; the article's "P reserved
  for the locked thread" would double it on 2 Ps. One-sided because on a loaded machine the
  extra thread can even shorten it (more runnable threads, a larger share of the CPUs); real
  makespan at least 0.9 x the model's (other processes stretch wall time; nothing makes the CPU
  work shorter).
- spawn_order: n, 1, 2, ..., n-1 [newproc -> runqput(pp, newg, next=true)].
- gc_frames: allocating per frame, real GC cycles/s within 35 % of the frame model (labkit.render); pooled,
  at most 2 cycles/s on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.golab.experiments import get_experiment
from labkit.golab.predict import model_prediction
from labkit.golab.runner import run_experiment

Result = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """One row of the table: how to read the quantity from a result and how to judge it."""

    experiment: str
    params: dict[str, Any]
    quantity: str
    read: Callable[[Result, Callable[..., Result]], Any]
    rule: str
    #: qualitative: must hold for each side separately.
    holds: Callable[[Any], bool] | None = None
    #: quantitative: judges (real, model).
    close: Callable[[Any, Any], bool] | None = None


def _key(name: str) -> Callable[[Result, Callable[..., Result]], Any]:
    return lambda r, _other: r[name]


def _turns_per_iter(r: Result, _other: Callable[..., Result]) -> float:
    return r["other_turns"] / r["iters"]


def _sleep0_over_gosched(r: Result, other: Callable[..., Result]) -> float:
    return r["ns_per_iter"] / other("yield", mode="gosched")["ns_per_iter"]


def _resume_over_loop(r: Result, _other: Callable[..., Result]) -> float:
    return r["resume_ms"] / r["loop_ms"]


def _cpu_not_held_up(r: Result, _other: Callable[..., Result]) -> bool:
    started_early = r["cpu_start_ms"] < r["params"]["syscall_ms"] / 2
    return started_early and r["cpu_done_ms"] < r["syscall_done_ms"]


def _affinity_same(r: Result, _other: Callable[..., Result]) -> bool:
    return r["affinity_locked"] == r["affinity_before"]


def _locked_over_unlocked(r: Result, _other: Callable[..., Result]) -> float:
    # The program's median of per-pair ratios (robust to load); the model gives one pair.
    if "makespan_ratio" in r:
        return r["makespan_ratio"]
    return r["makespan_ms_locked"] / r["makespan_ms_unlocked"]


def _within(rel: float, abs_: float = 0.0) -> Callable[[Any, Any], bool]:
    return lambda real, model: abs(real - model) <= rel * abs(model) + abs_


RULES: tuple[Rule, ...] = (
    Rule(
        "yield",
        {"mode": "none"},
        "other_turns",
        _key("other_turns"),
        "no yield: the other goroutine gets no turn",
        holds=lambda v: v == 0,
    ),
    Rule(
        "yield",
        {"mode": "sleep0"},
        "other_turns",
        _key("other_turns"),
        "Sleep(0) returns at once (timeSleep: ns <= 0): no turn for the other goroutine",
        holds=lambda v: v == 0,
    ),
    Rule(
        "yield",
        {"mode": "gosched"},
        "other_turns / iters",
        _turns_per_iter,
        "Gosched puts main on the global queue: one turn per iteration (0.95-1.05; the "
        "1-in-61 global-queue check can skip one turn in 31)",
        holds=lambda v: 0.95 <= v <= 1.05,
    ),
    Rule(
        "yield",
        {"mode": "sleep1ns"},
        "other_turns / iters",
        _turns_per_iter,
        "Sleep(1ns): the fired timer readies main into runnext: about no turns (<= 0.01)",
        holds=lambda v: v <= 0.01,
    ),
    Rule(
        "yield",
        {"mode": "sleep0"},
        "ns_per_iter(sleep0) / ns_per_iter(gosched)",
        _sleep0_over_gosched,
        "Sleep(0) is a no-op: under a tenth of Gosched's cost",
        holds=lambda v: v < 0.1,
    ),
    Rule(
        "preempt",
        {"async_preempt": True},
        "resume_ms",
        _key("resume_ms"),
        "async preemption: main resumes after 10-30 ms (forcePreemptNS + a sysmon sleep)",
        holds=lambda v: 10 <= v <= 30,
    ),
    Rule(
        "preempt",
        {"async_preempt": False},
        "resume_ms / loop_ms",
        _resume_over_loop,
        "asyncpreemptoff=1: a loop without calls is not preempted: resume >= 0.9 x loop",
        holds=lambda v: v >= 0.9,
    ),
    Rule(
        "syscall_handoff",
        {},
        "cpu goroutine not held up",
        _cpu_not_held_up,
        "the P is handed off: the CPU goroutine starts before half the syscall has passed "
        "and finishes before it returns",
        holds=lambda v: v is True,
    ),
    Rule(
        "syscall_handoff",
        {},
        "cpu_start_ms",
        _key("cpu_start_ms"),
        "the hand-off waits for sysmon (20 us to a few ms): real within 5 ms of the model",
        close=lambda real, model: abs(real - model) <= 5,
    ),
    Rule(
        "lockosthread",
        {},
        "affinity_locked == affinity_before",
        _affinity_same,
        "LockOSThread does not change CPU affinity",
        holds=lambda v: v is True,
    ),
    Rule(
        "lockosthread",
        {},
        "makespan_ms_locked / makespan_ms_unlocked",
        _locked_over_unlocked,
        "a sleeping locked goroutine holds no P: with it the makespan is at most 15 % longer "
        "(median of back-to-back pairs); a P reserved for it, the article's claim, would make "
        "it about 2x on 2 Ps",
        holds=lambda v: v <= 1.15,
    ),
    Rule(
        "lockosthread",
        {},
        "makespan_ms_unlocked",
        _key("makespan_ms_unlocked"),
        "the CPU work cannot finish sooner than the model says (real >= 0.9 x model); other "
        "processes on the machine only stretch it",
        close=lambda real, model: real >= 0.9 * model,
    ),
    Rule(
        "spawn_order",
        {},
        "order",
        _key("order"),
        "newproc puts each new G in runnext: n first, then 1 .. n-1",
        holds=lambda v: v == [len(v), *range(1, len(v))],
    ),
    Rule(
        "gc_frames",
        {"pooled": False},
        "gc_per_s",
        _key("gc_per_s"),
        "allocating per frame: real within 35 % of the frame model",
        close=_within(0.35),
    ),
    Rule(
        "gc_frames",
        {"pooled": False, "gogc": 400},
        "gc_per_s",
        _key("gc_per_s"),
        "GOGC=400: real within 35 % of the frame model",
        close=_within(0.35),
    ),
    Rule(
        "gc_frames",
        {"pooled": True},
        "gc_per_s",
        _key("gc_per_s"),
        "sync.Pool: at most 2 cycles/s",
        holds=lambda v: v <= 2,
    ),
)


def fidelity_table(*, source: str = "auto", seed: int = 0) -> list[dict[str, Any]]:
    """One dict per rule: experiment, params, quantity, real, model, agree, rule, kind, and
    real_source ("live" or "recorded").

    ``source`` is passed to ``run_experiment`` ("auto": live when Go is usable, else recorded);
    each experiment and parameter set runs once per call. ``seed`` goes to the model.
    """
    cache: dict[tuple[str, str, str], Result] = {}

    def get(side: str, name: str, **params: Any) -> Result:
        full = get_experiment(name).normalize(params)
        key = (side, name, repr(sorted(full.items())))
        if key not in cache:
            if side == "real":
                cache[key] = run_experiment(name, source=source, **params)
            else:
                cache[key] = model_prediction(name, seed=seed, **params)
        return cache[key]

    rows = []
    for rule in RULES:
        real_result = get("real", rule.experiment, **rule.params)
        model_result = get("model", rule.experiment, **rule.params)
        real = rule.read(real_result, lambda n, **p: get("real", n, **p))
        model = rule.read(model_result, lambda n, **p: get("model", n, **p))
        if rule.holds is not None:
            agree = bool(rule.holds(real)) and bool(rule.holds(model))
            kind = "qualitative"
        else:
            assert rule.close is not None
            agree = bool(rule.close(real, model))
            kind = "quantitative"
        rows.append(
            {
                "experiment": rule.experiment,
                "params": dict(rule.params),
                "quantity": rule.quantity,
                "real": real,
                "model": model,
                "agree": agree,
                "rule": rule.rule,
                "kind": kind,
                "real_source": real_result["source"],
            }
        )
    return rows
