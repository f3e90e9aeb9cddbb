"""Lab 5's real mode, live (#23 item 5): the hidden cause runs in the real dashboard here, shows
its own signature in the live evidence, nothing in the mystery's reach names it, and a change is
graded on a fresh run of the service: the cause's fix accepted as removing it, a GOGC change
never (rejected with the p99 it left, or, when the live run meets the targets anyway, accepted
with the note that the cause is still there); nothing is left running afterwards.

Skipped without the Debian packages (errors.APT_PACKAGES); under CI=true they fail instead.
"""

from __future__ import annotations

import os

import pytest
from services_env import alive, descendants, require_services
from test_capstone_real import everything, leaks, signatures

from labkit.exercises import lab05
from labkit.golab.services import capstone as real

pytestmark = [pytest.mark.go, pytest.mark.slow]


def test_a_live_real_mystery_shows_its_cause_and_grades_a_change_on_the_service():
    require_services(postgres=True, prometheus=True)
    seed = next(s for s in range(1000) if lab05._real_key(lab05.mystery_number(s)) == "hot_loop")
    before = descendants(os.getpid())
    lab05._REAL_LIVE.clear()
    mystery = lab05.RealMystery(seed, live=True)
    run = lab05._REAL_LIVE["mystery", mystery.number]
    assert run.source == "live" and run.trace is not None
    healthy = real.recorded_capstone_run(real.HEALTHY)
    assert [k for k, hit in signatures(run, healthy).items() if hit] == ["hot_loop"]
    assert mystery.where().startswith("live on ")
    assert leaks(everything(mystery)) == []  # the live healthy run is made here too

    fixed = mystery.try_changes({"hot_loop_ms": 0})
    assert fixed.accepted and fixed.message.startswith("Accepted: the cause is gone"), fixed
    assert "(recorded run)" not in fixed.observed
    # GOGC=400 leaves the loop in. Less GC work frees some CPU, and this 2-CPU service runs close
    # to saturation (40 ms of CPU a request at 40 req/s): the recording's p99 is 770 ms, but one
    # live run here met the targets (p99 165 ms). Either way the grader must not call the cause
    # gone: it rejects the change with its p99, or accepts it with a note that the cause stays.
    other = mystery.try_changes({"gogc": 400})
    if other.accepted:
        assert other.message.startswith("Accepted with a note"), other
        assert "the cause is still in the service" in other.note, other
    else:
        assert other.message.startswith("Misses the targets: p99"), other
    assert alive(descendants(os.getpid()) - before) == set()
    lab05._REAL_LIVE.clear()
