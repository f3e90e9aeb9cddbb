"""The twins' fidelity rows (issue #15 item 3): the model's run of each chapter-2 preset against
Go's own run of the same program (the recordings), measure by measure. Exactly the rows with a
known difference differ, each with its reason; a wrong model makes agreeing rows differ."""

from __future__ import annotations

import dataclasses

import pytest

import labkit.golab.twin_fidelity as tf


@pytest.fixture(scope="module")
def rows():
    return tf.twin_rows()


def test_every_twin_and_variant_has_rows_and_every_row_states_its_tolerance(rows):
    assert {(r["twin"], r["variant"]) for r in rows} == {
        (name, v) for name, (_, variants) in tf.TWIN_PRESETS.items() for v in variants
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
    assert "reason: four Ps on the recording machine's two CPUs" in text


def test_a_wrong_model_differs_where_the_right_one_agrees(monkeypatch, rows):
    """A model whose makespans and latencies were half again as long: rows that agree today
    (one P's burst of 400 goroutines, the netpoller version of 2.2) read DIFFER."""
    real_run_lab = tf.run_lab

    def slow(params):
        run = real_run_lab(params)
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
