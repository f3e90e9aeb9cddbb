"""Speed of the case study: the default incident, all fixes on, and one widget update.

Run: .venv/bin/python -m pytest benchmarks/bench_casestudy.py --benchmark-enable -p no:nbval
The chapter's budget is ~1 s per run (a Run-on-release widget, not per keystroke).
"""

from labkit.scenarios.casestudy import run_incident
from labkit.widgets import IncidentLab


def test_bench_incident_default(benchmark):
    benchmark(run_incident)


def test_bench_incident_all_fixes(benchmark):
    benchmark(run_incident, cache_json=True, stream=True, db_timeout=True)


def test_bench_incident_widget_toggle(benchmark):
    lab = IncidentLab()
    state = {"on": False}

    def toggle():
        state["on"] = not state["on"]
        lab.set(stream=state["on"])

    benchmark(toggle)
