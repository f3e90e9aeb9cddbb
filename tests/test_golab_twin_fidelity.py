"""The twins' fidelity rows (issue #15 item 3): the model's run of each chapter-2 preset against
Go's own run of the same program (the recordings), measure by measure. Exactly the rows with a
known difference differ, each with its reason; a wrong model makes agreeing rows differ."""

from __future__ import annotations

import dataclasses

import pytest

import labkit.golab.twin_fidelity as tf
from labkit.models.pipeline import simulate_pipeline
from labkit.models.pool import simulate_pool


@pytest.fixture(scope="module")
def rows():
    return tf.twin_rows()


def test_every_twin_and_variant_has_rows_and_every_row_states_its_tolerance(rows):
    assert {(r["twin"], r["variant"]) for r in rows} == {
        (c.twin, v) for c in tf.COMPARISONS for v in c.variants
    }
    assert all(r["tolerance"] > 0 and r["tolerance_why"] for r in rows)
    assert len(rows) >= 30


def test_exactly_the_known_differences_differ(rows):
    """A model change that makes a known row agree, or another row differ, is noticed here."""
    differ = {(r["twin"], r["variant"], r["quantity"]) for r in rows if not r["agree"]}
    assert differ == set(tf.KNOWN_DIFFERENCES)


def test_the_table_says_differ_and_why(rows):
    text = tf.format_twin_rows(rows)
    assert text.count("DIFFER") == len(tf.KNOWN_DIFFERENCES)
    assert "reason: the kernel also runs real Go's other threads on the two CPUs" in text


def test_a_wrong_model_differs_where_the_right_one_agrees(monkeypatch, rows):
    """A model whose makespans and latencies were half again as long: rows that agree today
    (one P's burst of 400 goroutines, the netpoller version of 2.2) read DIFFER."""
    real_run_lab = tf.run_lab

    def slow(params, **options):
        run = real_run_lab(params, **options)
        metrics = {
            k: v * 1.5 if k in ("makespan_ms", "p50_ms", "p99_ms") else v
            for k, v in run.metrics.items()
        }
        return dataclasses.replace(run, metrics=metrics)

    monkeypatch.setattr(tf, "run_lab", slow)
    wrong = {(r["twin"], r["variant"], r["quantity"]): r["agree"] for r in tf.twin_rows()}
    assert wrong[("run_queues", "stall", "makespan (ms)")] is False
    assert wrong[("blocking_calls", "fix", "request latency p50 (ms)")] is False
    assert all(r["agree"] for r in rows if (r["twin"], r["variant"]) == ("run_queues", "stall"))


def test_a_presets_row_is_the_median_of_its_seeds_runs(rows):
    """One real run against nine model runs: sysmon's phase moves the long loop's p50 from 3 to
    12 ms from seed to seed, and the row compares the real 8.0 ms with their median."""
    row = next(
        r
        for r in rows
        if (r["twin"], r["variant"], r["quantity"])
        == ("long_loop", "fix", "request latency p50 (ms)")
    )
    low, high = row["model_range"]
    assert low < 5.0 < 10.0 < high and low <= row["model"] <= high and row["agree"]
    assert f"({low:.1f}-{high:.1f})" in tf.format_twin_rows([row])


def preset_rows_with(monkeypatch, **options) -> dict[tuple[str, str, str], bool]:
    """The chapter-2 rows with run_lab's options overridden (the model put back a step)."""
    real_run_lab = tf.run_lab
    monkeypatch.setattr(
        tf, "run_lab", lambda params, **given: real_run_lab(params, **{**given, **options})
    )
    rows = tf.twin_rows(twins=list(tf.TWIN_PRESETS))
    return {(r["twin"], r["variant"], r["quantity"]): r["agree"] for r in rows}


def test_requests_woken_from_the_netpoller_instead_of_their_timers_differ(monkeypatch):
    """The twins' requests sleep until their arrival: a timer readies each into runnext, where it
    inherits the P's time slice, and sysmon preempts whichever runs when the slice is 10 ms old.
    Readied by the netpoller instead, each has a fresh slice: no preemptions, and the long
    loop's requests wait behind it twice as long."""
    wrong = preset_rows_with(monkeypatch, arrivals="network")
    assert wrong[("locked_ticker", "fix", "preemptions on the timeline")] is False
    assert wrong[("blocking_calls", "stall", "preemptions on the timeline")] is False
    assert wrong[("long_loop", "fix", "request latency p50 (ms)")] is False


def test_four_ps_with_a_cpu_each_instead_of_the_twins_two_differ(monkeypatch):
    wrong = preset_rows_with(monkeypatch, cores=None)
    assert wrong[("run_queues", "fix", "makespan (ms)")] is False
    assert wrong[("run_queues", "fix", "request latency p99 (ms)")] is False


def test_a_fresh_sysmon_instead_of_the_twins_backed_off_one_differs(monkeypatch):
    """The twins calibrate in init before their trace begins, and sysmon backs off meanwhile.
    Fresh, in its short rounds, it takes the Ps of 2.2's first blocked calls ~10 ms early and
    preempts the long loop at its first 10 ms with every seed."""
    wrong = preset_rows_with(monkeypatch, sysmon_backoff=False)
    assert wrong[("blocking_calls", "stall", "makespan (ms)")] is False
    assert wrong[("long_loop", "fix", "request latency p50 (ms)")] is False


def chapter4(rows):
    return {
        (r["twin"], r["variant"], r["quantity"]): r["agree"]
        for r in rows
        if r["twin"] in ("pipeline", "pool")
    }


def test_the_chapter_4_twins_agree_with_their_models(rows):
    assert chapter4(rows) and all(chapter4(rows).values())


def test_a_pipeline_model_without_the_ps_limit_differs(monkeypatch):
    """Eight Ps instead of the twin's two: the pipeline would run at draw's 500/s, which real
    Go on two Ps does not."""
    real = tf.pipeline_twin_model

    def no_ps_limit(buffer, draw):
        run = real(buffer, draw)
        return simulate_pipeline(run.params, gomaxprocs=8)

    monkeypatch.setattr(tf, "pipeline_twin_model", no_ps_limit)
    wrong = chapter4(tf.twin_rows())
    assert wrong[("pipeline", "buffer 4", "throughput (items/s)")] is False
    assert wrong[("pipeline", "buffer 64", "latency mean (ms)")] is False


def test_a_pool_model_without_time_slices_differs(monkeypatch):
    """Goroutines run to completion (no sysmon preemption after forcePreemptNS): a goroutine
    per request would have a p99 far below real Go's, and 8 workers one far above."""
    real = tf.pool_twin_model

    def run_to_completion(policy, workers):
        run = real(policy, workers)
        return simulate_pool(
            run.params, arrivals=run.arrival_s, time_slice_ms=1e9, replayed_arrivals=None
        )

    monkeypatch.setattr(tf, "pool_twin_model", run_to_completion)
    wrong = chapter4(tf.twin_rows())
    assert wrong[("pool", "per request", "latency p99 (ms)")] is False
    assert wrong[("pool", "pool of 8", "latency p99 (ms)")] is False
