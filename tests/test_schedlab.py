"""The scheduler lab: each blind spot's stall and fix differ the way chapter 2 says they do."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.models.scheduler import Go
from labkit.models.scheduler.programs import iter_goroutines
from labkit.scenarios.blindspots import PRESETS, LabParams, build_program, run_lab


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_each_preset_stall_and_fix_differ_in_the_claimed_direction(key):
    """Every preset's expectations hold: 'lower' / 'higher' by a clear margin, 'same' within 5 %."""
    preset = PRESETS[key]
    stall, fix = run_lab(preset.stall), run_lab(preset.fix)
    for metric, direction in preset.expect:
        a, b = stall.metrics[metric], fix.metrics[metric]
        if direction == "lower":
            assert b < a * 0.8, f"{key}: {metric} should fall in the fix: {a} -> {b}"
        elif direction == "higher":
            assert b > a * 1.2 + 1e-9, f"{key}: {metric} should rise in the fix: {a} -> {b}"
        else:
            assert b == pytest.approx(a, rel=0.05), f"{key}: {metric} should not change: {a} -> {b}"
    assert not stall.result.deadlock and not fix.result.deadlock
    assert stall.metrics["unfinished"] == fix.metrics["unfinished"] == 0


def test_cooperative_preemption_holds_requests_behind_a_tight_loop():
    """Go <= 1.13: a loop without calls is never preempted, so requests wait for it to end
    (2.3). Since Go 1.14 sysmon's retake preempts it after forcePreemptNS = 10 ms."""
    preset = PRESETS["2.3"]
    stall, fix = run_lab(preset.stall), run_lab(preset.fix)
    assert stall.metrics["p99_ms"] > 0.8 * preset.stall.hog_ms
    assert fix.metrics["p99_ms"] < 0.25 * preset.fix.hog_ms


def test_lock_os_thread_does_not_take_a_p_away_from_other_goroutines():
    """2.1: the requests finish as fast with the ticker locked to its thread as without."""
    preset = PRESETS["2.1"]
    locked, free = run_lab(preset.stall), run_lab(preset.fix)
    assert locked.metrics["p99_ms"] == pytest.approx(free.metrics["p99_ms"], rel=0.15)
    assert locked.metrics["threads_peak"] > free.metrics["threads_peak"]


def test_blocking_syscalls_grow_threads_and_network_waits_do_not():
    """2.2: each concurrent blocking syscall keeps an M; netpoller waits keep none."""
    preset = PRESETS["2.2"]
    sys_run, net_run = run_lab(preset.stall), run_lab(preset.fix)
    assert sys_run.metrics["threads_peak"] >= 10
    assert net_run.metrics["threads_peak"] <= preset.fix.gomaxprocs + 2
    assert sys_run.metrics["handoffs"] > 0 and net_run.metrics["handoffs"] == 0


def test_same_params_same_numbers():
    a, b = run_lab(LabParams(seed=3)), run_lab(LabParams(seed=3))
    assert a.metrics == b.metrics
    np.testing.assert_array_equal(a.request_latency_ms, b.request_latency_ms)


def test_request_latency_is_measured_from_arrival_and_never_negative():
    run = run_lab(LabParams(goroutines=50, arrival_ms=2.0, hogs=0))
    assert np.all(run.request_latency_ms >= LabParams().work_ms - 1e-9)
    assert run.metrics["p99_ms"] < 2.0, "no contention: each request takes about its CPU time"


def test_program_has_one_goroutine_per_request_hog_and_ticker():
    params = LabParams(goroutines=7, hogs=2, tickers=3, locked=1)
    main = build_program(params)
    assert isinstance(main, Go)
    run = run_lab(params)
    names = set(run.result.finished_ms)
    assert {f"req{k}" for k in range(7)} <= names
    assert {"hog0", "hog1", "ticker0", "ticker1", "ticker2"} <= names


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gomaxprocs", 0),
        ("syscall_share", 1.5),
        ("locked", 2),
        ("yield_mode", "spin"),
        ("tick_ms", 0.0),
        ("arrivals", "tcp"),
        ("cores", 0),
        ("cores", 2.0),
        ("sysmon_backoff", "yes"),
    ],
)
def test_impossible_parameters_are_refused_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        LabParams(**{field: value})


def test_timer_arrivals_sleep_until_each_arrival_where_network_ones_wait_in_the_netpoller():
    """arrivals="timer" is the twins' time.Sleep(time.Until(arrive)); the default parks each
    request in the netpoller for its arrival time."""
    params = LabParams(goroutines=3, arrival_ms=2.0, hogs=0)
    timer = {g.name: g for g in iter_goroutines(build_program(params.replace(arrivals="timer")))}
    network = {g.name: g for g in iter_goroutines(build_program(params))}
    assert [repr(timer[f"req{k}"].steps[0]) for k in range(3)] == [
        "sleep_until(0)",
        "sleep_until(2)",
        "sleep_until(4)",
    ]
    assert [repr(network[f"req{k}"].steps[0]) for k in range(1, 3)] == ["io_wait(2)", "io_wait(4)"]
    for arrivals in ("network", "timer"):
        run = run_lab(params, arrivals=arrivals)
        assert np.all(run.request_latency_ms < 1.1), arrivals  # each request, alone, on time


def test_cores_and_sysmons_backoff_reach_the_scheduler_and_the_summary():
    run = run_lab(PRESETS["2.4"].fix, cores=2, sysmon_backoff=True)
    assert run.result.params.cores == 2 and run.result.params.sysmon_backoff is True
    assert run.metrics["makespan_ms"] == pytest.approx(
        2 * run_lab(PRESETS["2.4"].fix).makespan_ms, rel=1e-3
    )
    assert "on 2 CPU(s)" in run.summary() and "sysmon backed off" in run.summary()
    assert "CPU(s)" not in run_lab(PRESETS["2.4"].fix).summary()


def test_summary_names_inputs_and_results():
    text = run_lab(LabParams(seed=5)).summary()
    assert "GOMAXPROCS=4" in text and "seed=5" in text and "p99" in text and "peak threads" in text


def test_a_preset_sends_its_figures_before_the_controls_it_moves(monkeypatch):
    """Each control is a widget, a message of its own: a preset moves up to nine, and sent first
    they held the figures' messages back (benchmarks/README.md). The timeline's boxes go first,
    then the controls; the controls still end at the preset's setting."""
    from labkit.scenarios.blindspots import PRESETS
    from labkit.widgets import SchedulerLab

    lab = SchedulerLab()
    order: list[str] = []
    boxes = lab.timeline.figure.marks[0]
    slider = lab.controls["goroutines"]
    for name, widget in (("boxes", boxes), ("control", slider)):
        original = widget.send_state
        monkeypatch.setattr(
            widget, "send_state", lambda key=None, n=name, f=original: order.append(n) or f(key)
        )
    key = next(k for k, p in PRESETS.items() if p.stall.goroutines != lab.params.goroutines)
    lab.choose(key)
    assert "boxes" in order and "control" in order
    assert order.index("boxes") < order.index("control")
    assert slider.value == PRESETS[key].stall.goroutines
