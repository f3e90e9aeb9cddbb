"""labkit.doctor(): versions in a few lines, and the known-bad combinations named."""

from __future__ import annotations

import pytest

import labkit
from labkit.health import known_problems


def _healthy() -> dict:
    return {
        "python": "3.11.7",
        "jupyterlab": "4.6.6",
        "ipywidgets": "8.1.9",
        "jupyterlab_widgets": "3.0.17",
        "bqplot": "0.13.1",
        "numpy": "2.4.6",
        "bqplot_labextension": "0.6.1",
        "widgets_labextension": "5.0.17",
        "go": None,
    }


def test_doctor_prints_versions_and_returns_them(capsys):
    info = labkit.doctor()
    out = capsys.readouterr().out
    for key in ("python", "jupyterlab", "ipywidgets", "jupyterlab_widgets", "bqplot", "numpy"):
        assert info[key], key
        assert info[key] in out
    assert "Go:" in out
    assert len(out.splitlines()) <= 8
    assert info["bqplot_labextension"], "the test environment has bqplot's lab extension"
    assert info["problems"] == []


def test_a_healthy_combination_has_no_problems():
    assert known_problems(_healthy()) == []


def test_ipywidgets_8_with_jupyterlab_widgets_1_is_flagged():
    info = _healthy() | {"jupyterlab_widgets": "1.1.1"}
    (problem,) = known_problems(info)
    assert "jupyterlab_widgets 3" in problem


def test_missing_bqplot_extension_explains_the_javascript_error():
    info = _healthy() | {"bqplot_labextension": None}
    (problem,) = known_problems(info)
    assert "Click to show javascript error" in problem


def test_old_bqplot_and_ipywidgets_7_are_flagged():
    assert any("bqplot 0.12.45" in p for p in known_problems(_healthy() | {"bqplot": "0.12.45"}))
    assert any("ipywidgets 8" in p for p in known_problems(_healthy() | {"ipywidgets": "7.8.1"}))


def test_no_go_toolchain_says_recorded_results_are_used(monkeypatch, capsys):
    monkeypatch.setattr("labkit.health._go_toolchain", lambda: None)
    labkit.doctor()
    assert "not found: real-Go cells show recorded results" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("go", "expected"),
    [
        (None, "recorded only: no Go toolchain"),
        ({"path": "go", "version": "go version go1.21.13 linux/amd64"}, "older than Go 1.22"),
        ({"path": "go", "version": "go version go1.27.3 linux/amd64"}, "live: Go 1.27"),
        ({"path": "go", "version": "unusable (boom)"}, "cannot tell the Go version"),
    ],
)
def test_doctor_says_whether_execution_traces_run_live(go, expected):
    from labkit.health import trace_support

    assert expected in trace_support(go)
