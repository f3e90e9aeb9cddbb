"""A real execution trace is drawn by the widgets that draw a model run: Trace has Result's
views under Result's names, the timeline names goroutines by ID and entry function and packs the
kernel's thread IDs into rows, and TimelinePair puts a model run and a trace on one time axis
with the measures both have."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit.errors import EvidenceError, ParameterError
from labkit.models.scheduler import Go, cpu, simulate, spawn
from labkit.traces import load_trace
from labkit.traces.measures import MEASURES, timeline_measures
from labkit.widgets.timeline import (
    TRACE_TIME,
    GoroutineStatePlot,
    RunQueuePlot,
    SchedulerTimeline,
)
from labkit.widgets.tracepair import TimelinePair

TRACES = Path(__file__).parent / "data" / "traces"


@pytest.fixture(scope="module")
def hogs():
    """Four 30 ms CPU hogs and a 5 ms ticker on GOMAXPROCS=2 (tests/data/traces/README.md)."""
    return load_trace(TRACES / "cpuhogs.trace")


@pytest.fixture(scope="module")
def syscalls():
    return load_trace(TRACES / "syscalls.trace")


@pytest.fixture(scope="module")
def model_hogs():
    hogs = [spawn(Go(f"hog{i}", [cpu(30.0)])) for i in range(4)]
    return simulate(Go("main", hogs), gomaxprocs=2, seed=0)


def test_a_trace_has_the_views_a_model_run_has(hogs):
    assert hogs.end_ms == hogs.duration_ms
    assert dict(hogs.params) == {"gomaxprocs": 2}
    count = hogs.threads["count"]
    assert np.all(np.diff(count) == 1)  # one more thread at each first sight
    assert count[-1] == np.unique(hogs.thread_segments["m"]).size


def test_the_event_log_marks_every_preemption_the_trace_records(hogs):
    tr = hogs.transitions
    preempted = tr[(tr["from"] == "running") & (tr["reason"] == "preempted")]
    log = hogs.event_log
    assert len(preempted) >= 2  # four 30 ms hogs on two Ps: sysmon must preempt
    assert np.array_equal(log["t_ms"][log["kind"] == "preempt"], preempted["t_ms"])
    assert set(log["kind"]) <= {"preempt", "handoff"}  # stealing is not traced


def test_a_handoff_is_marked_on_the_p_the_syscall_lost(syscalls):
    ts = syscalls.thread_segments
    lost = ts[(ts["kind"] == "syscall") & (ts["p"] < 0)]
    log = syscalls.event_log
    handoffs = log[log["kind"] == "handoff"]
    assert len(handoffs) == len(lost) > 0
    for h in handoffs:  # the stretch that held the P ends where the P-less one starts
        held = ts[(ts["g"] == h["g"]) & np.isclose(ts["end_ms"], h["t_ms"]) & (ts["p"] >= 0)]
        assert held.size and held["p"][0] == h["p"]


def test_the_timeline_draws_a_trace_per_p_naming_goroutines_by_id_and_function(hogs):
    view = SchedulerTimeline()
    view.show(hogs)
    assert view.box_count == len(hogs.segments)
    assert view._xaxis.label == TRACE_TIME
    labels = list(view.drawn_boxes().labels)
    assert any(label.startswith("G1 main.main on P") for label in labels)
    assert all(label.startswith("G") for label in labels)


def test_per_thread_rows_are_packed_from_the_kernels_thread_ids(syscalls):
    view = SchedulerTimeline()
    view.show(syscalls)
    view._rows.value = "m"
    ids = np.unique(syscalls.thread_segments["m"])
    assert ids.max() > 1000  # kernel thread IDs, not 0..n
    assert list(view._yaxis.tick_values) == list(range(ids.size))
    assert any(f"on M{ids[0]}:" in label for label in view.drawn_boxes().labels)


def test_the_state_plot_draws_a_trace_and_the_run_queue_plot_says_why_not(hogs):
    GoroutineStatePlot().show(hogs)
    with pytest.raises(EvidenceError, match="records no run queues.*GoroutineStatePlot"):
        RunQueuePlot().show(hogs)


def test_the_measures_read_a_model_run_and_a_trace_the_same_way(hogs, model_hogs):
    real, model = timeline_measures(hogs), timeline_measures(model_hogs)
    assert set(real) == set(model) == {key for key, _ in MEASURES}
    assert real["gomaxprocs"] == model["gomaxprocs"] == 2
    assert real["preemptions"] == len(hogs.event_log[hogs.event_log["kind"] == "preempt"])
    seg = model_hogs.segments
    assert model["cpu_ms"] == pytest.approx(float(np.sum(seg["end_ms"] - seg["start_ms"])))
    # 120 ms of hog work on 2 Ps: both sides ran it (the trace also has the ticker and runtime)
    assert model["cpu_ms"] == pytest.approx(120, abs=1) and real["cpu_ms"] >= 90


def test_a_timeline_pair_shares_one_time_axis_and_one_window(hogs, model_hogs):
    pair = TimelinePair(model_hogs, hogs)
    assert pair.model_view._xs is pair.trace_view._xs
    pair.model_view._window.value = (10.0, 40.0)
    assert pair.trace_view._window.value == (10.0, 40.0)
    assert pair.model_view._xs.min == 10.0 and pair.model_view._xs.max == 40.0
    assert "real Go" in pair._table.value and "preemptions" in pair._table.value
    assert pair.summary().startswith("model vs real Go: gomaxprocs 2 / 2")


@pytest.mark.parametrize("bad", [None, {"segments": []}, "trace.out"])
def test_a_timeline_pair_refuses_what_is_not_a_run(model_hogs, bad):
    with pytest.raises(
        ParameterError, match="must be a labkit.models.scheduler Result or a labkit.traces"
    ):
        TimelinePair(model_hogs, bad)


def test_a_trace_is_coloured_like_the_model_by_the_functions_kinds():
    """The twin names its goroutines' kinds by entry function: the render loop is a ticker,
    the hogs are hogs, as the model colours them; without the names they are 'other'."""
    from labkit.golab import run_twin
    from labkit.widgets.timeline import KIND_COLOURS

    run = run_twin("timer_stall", source="recorded", hogs=2)
    plain, coloured = SchedulerTimeline(), SchedulerTimeline()
    plain.show(run.trace)
    coloured.show(run.trace, kinds=run.kinds)
    assert KIND_COLOURS["hog"] not in plain.drawn_boxes().fills
    fills = set(coloured.drawn_boxes().fills)
    assert {KIND_COLOURS["hog"], KIND_COLOURS["ticker"]} <= fills
    with pytest.raises(ParameterError, match="kind must be one of"):
        coloured.show(run.trace, kinds={"main.f": "worker"})


def test_a_locked_threads_hand_overs_are_not_counted_as_syscall_hand_offs():
    """A model run with LockOSThread logs its locked hand-overs as P hand-offs (the timeline
    marks them); a trace has no event for them, so the measure compared with real Go counts
    only the Ps taken from system calls."""
    from labkit.scenarios.blindspots import PRESETS, run_lab

    run = run_lab(PRESETS["2.1"].stall).result
    assert run.stats["locked_handoffs"] > 0 and run.stats["handoffs"] == 0
    assert np.sum(np.asarray(run.event_log["kind"]) == "handoff") > 0
    assert timeline_measures(run)["handoffs"] == 0


def test_the_state_plot_labels_a_traces_time_as_real_and_a_models_as_virtual():
    from labkit.models.scheduler import Go, cpu, simulate
    from labkit.widgets import GoroutineStatePlot
    from labkit.widgets.timeline import MODEL_TIME, TRACE_TIME

    plot = GoroutineStatePlot()
    plot.show(load_trace(TRACES / "cpuhogs.trace"))
    assert plot._xaxis.label == TRACE_TIME
    plot.show(simulate(Go("main", [cpu(1.0)]), gomaxprocs=1))
    assert plot._xaxis.label == MODEL_TIME


def test_a_pair_can_merge_what_is_under_a_pixel():
    """TimelinePair(merge_px=1) hands the merge to both timelines: a trace of many short
    stretches draws fewer boxes, and every stretch is still counted in a tooltip."""
    from labkit.scenarios.casestudy import run_incident
    from labkit.widgets import TimelinePair

    run = run_incident().result
    plain = TimelinePair(run, run)
    merged = TimelinePair(run, run, merge_px=1)
    assert merged.trace_view.box_count < plain.trace_view.box_count
    assert merged.model_view.box_count == merged.trace_view.box_count
    labels = merged.trace_view.drawn_boxes().labels
    counted = [int(t.split()[0]) if "short stretches" in t else 1 for t in labels]
    assert sum(counted) == len(run.segments)


def test_the_pairs_table_gives_large_times_to_the_ms_not_in_exponent_form():
    from labkit.widgets.tracepair import _fmt

    assert [_fmt(x) for x in (652, 1100.0126, 1180.4, 0.12345, 99.94)] == [
        "652",
        "1100",
        "1180",
        "0.123",
        "99.9",
    ]
