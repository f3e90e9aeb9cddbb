"""The fidelity rows of #25's gaps (labkit.golab.fidelity_gaps) can fail: each row that agrees
reads DIFFER when the model is put back the way it was, or a plausible wrong model answers
(every preemption request to a hand-off pair lost, a ticker that queues its ticks, a mutex
without starvation mode, a WaitGroup that wakes in FIFO order, sysmon's rounds 20 ms).
"""

from __future__ import annotations

import math

import pytest

import labkit.golab.fidelity as fidelity
from labkit.golab.fidelity import fidelity_table, judge
from labkit.golab.fidelity_gaps import GAP_RULES
from labkit.golab.predict import model_prediction
from labkit.golab.runner import run_experiment

rt = pytest.importorskip("labkit.models.scheduler.runtime")


def _rule(experiment: str, quantity_start: str, params: dict | None = None):
    return next(
        r
        for r in GAP_RULES
        if r.experiment == experiment
        and r.quantity.startswith(quantity_start)
        and (params is None or dict(r.params) == params)
    )


PAIR = _rule("pingpong_hog", "ms the pair runs")
HANDOFF = _rule("handoff_costs", "a channel round trip")
SHARE = _rule("pingpong_hog", "the hog's share")
TICK_WORK = _rule("ticker_load", "ticks", {"case": "work"})
TICK_HOG = _rule("ticker_load", "ticks", {"case": "hog"})
WAIT = _rule("mutex_starve", "ms the waiter waits")
LONGEST = _rule("mutex_starve", "ms of the waiter's longest")
ORDER = _rule("wg_order", "order")
SPIN = _rule("spin_flag", "ms until", {"calls": False, "async_preempt": True})
SPIN_CALLS = _rule("spin_flag", "ms until", {"calls": True, "async_preempt": False})
CYCLE = _rule("prodcons", "us from one")
CYCLE_ITEMS = _rule("prodcons", "items the consumer")
CHURN_ITEM = _rule("handoff_churn", "ns per item")
CHURN_STARTS = _rule("handoff_churn", "times the idle P")
CHURN_MOVES = _rule("handoff_churn", "goroutine moves")


@pytest.fixture(scope="module")
def rows() -> dict[str, dict]:
    return {
        r.quantity + repr(dict(r.params)): row
        for r, row in zip(
            GAP_RULES, fidelity_table(source="recorded", rules=GAP_RULES), strict=True
        )
    }


def _row(rows: dict, rule) -> dict:
    return rows[rule.quantity + repr(dict(rule.params))]


def _one(rule) -> dict:
    return fidelity_table(source="recorded", rules=(rule,))[0]


def test_the_gap_rows_are_in_the_table_and_only_the_explained_ones_differ(rows):
    assert all(any(r is g for r in fidelity.RULES) for g in GAP_RULES)
    experiments = {r.experiment for r in GAP_RULES}
    assert experiments == {
        "handoff_costs", "pingpong_hog", "ticker_load", "mutex_starve", "wg_order", "spin_flag",
        "prodcons", "handoff_churn",
    }  # fmt: skip
    for rule in GAP_RULES:
        row = _row(rows, rule)
        assert row["agree"] is (rule.known_difference is None), (rule.quantity, row["why"])


def test_a_pair_whose_preemption_requests_are_all_lost_is_never_preempted(monkeypatch, rows):
    """The model as it was (#25 gap 1): a request that lands in a hand-off is always lost, so
    the pair runs the whole window and the hog gets nothing: both rows differ widely."""
    assert _row(rows, PAIR)["agree"]
    monkeypatch.setattr(rt, "SWITCH_G_SIDE_MS", 0.0)
    monkeypatch.setattr(rt, "CHAN_HANDOFF_MS", 0.0)
    pair, share = _one(PAIR), _one(SHARE)
    assert not pair["agree"] and pair["model"] > 2 * pair["real"]
    assert not share["agree"] and share["model"] < share["real"] / 2


def test_a_runnext_taken_after_a_bare_usleep_3_brings_the_consumer_back_too_soon(monkeypatch, rows):
    """runqgrab's usleep(3) is a nanosleep, which the kernel stretches by its timer slack and
    the thread's wake-up (~74 us, the recorded nanosleeps' lateness drawn); a thief that waited
    the 3 us asked would run the parked consumer again after ~14 us, not the real ~86, with ~7
    items waiting, not ~160."""
    from labkit.models.scheduler.sysmon import Sysmon

    assert _row(rows, CYCLE)["agree"] and _row(rows, CYCLE_ITEMS)["agree"]
    monkeypatch.setattr(Sysmon, "usleep_ms", lambda self, asked_ms: asked_ms)
    cycle, items = _one(CYCLE), _one(CYCLE_ITEMS)
    assert not cycle["agree"] and cycle["model"] < cycle["real"] / 2
    assert not items["agree"] and items["model"] < items["real"] / 2


def test_a_ticker_that_queues_its_ticks_differs():
    """A ticker whose channel kept every tick would deliver all of them: 1.0, against the real
    0.05 beside a hog and 0.79 after work."""
    for rule in (TICK_HOG, TICK_WORK):
        real = run_experiment("ticker_load", source="recorded", **rule.params)
        model = model_prediction("ticker_load", **rule.params)
        assert not judge(rule, real, {**model, "tick_ratio": 1.0})["agree"]


def test_sysmon_preempting_every_20_ms_makes_the_hog_ticker_and_spin_rows_differ(monkeypatch, rows):
    for rule in (TICK_HOG, SPIN, SPIN_CALLS):
        assert _row(rows, rule)["agree"]
    monkeypatch.setattr(rt, "FORCE_PREEMPT_MS", 20.0)
    for rule in (TICK_HOG, SPIN, SPIN_CALLS):
        assert not _one(rule)["agree"], rule.quantity


def test_a_mutex_without_starvation_mode_lets_the_waiter_wait_too_long(monkeypatch, rows):
    """A fair-looking mutex with no starvation mode (threshold never reached): the woken
    waiter keeps losing to the running holder, far beyond the real ~1.1 ms."""
    import labkit.models.scheduler.mutex as mutex

    assert _row(rows, WAIT)["agree"] and _row(rows, LONGEST)["agree"]
    monkeypatch.setattr(mutex, "STARVATION_THRESHOLD_MS", math.inf)
    assert not _one(WAIT)["agree"]
    assert not _one(LONGEST)["agree"]


def test_a_waitgroup_that_wakes_its_waiters_in_fifo_order_differs(rows):
    """Without runnext each release would queue its waiter behind the last: 5, 1, 2, 3, 4 (the
    order they parked), not the real 4, 5, 1, 2, 3."""
    assert _row(rows, ORDER)["agree"]
    real = run_experiment("wg_order", source="recorded")
    model = model_prediction("wg_order")
    assert not judge(ORDER, real, {**model, "order": [5, 1, 2, 3, 4]})["agree"]


def test_a_channel_hop_that_costs_a_plain_switch_differs(monkeypatch, rows):
    """#25 gap 3 as it was: every hop charged one SCHEDULE_MS, so a channel round costs what a
    Gosched round does (ratio 1.00 against the recorded 2.04)."""
    assert _row(rows, HANDOFF)["agree"]
    monkeypatch.setattr(rt, "CHAN_HANDOFF_MS", 0.0)
    row = _one(HANDOFF)
    assert not row["agree"] and row["model"] == pytest.approx(1.0, abs=0.001)


def test_a_channels_work_counted_as_scheduler_time_loses_the_pairs_requests(monkeypatch, rows):
    """The channel's work runs on the goroutines' own stacks, where sysmon's requests stand.
    Counted instead as scheduler time (no G-side window beyond SWITCH_G_SIDE_MS), most of the
    pair's requests are lost: the hog gets ~0.22 of the window, not 0.50. The recording of
    2026-12-05 cannot tell the two apart (its windows 0.22-0.49, median 0.37: the row agrees
    with either); the one of 2026-12-04 could (0.35-0.52, median 0.49). So this pins the
    model's mechanism, and says where the real windows stand."""
    from labkit.models.scheduler.goroutine import Goroutines
    from labkit.models.scheduler.schedule import Schedule

    assert _row(rows, SHARE)["agree"]
    plain, plain_park = Schedule.schedule_after, Goroutines.park

    def without_g_side(self, p, t, cost, g_extra=0.0):
        plain(self, p, t, cost)

    def park_without_g_side(self, g, p, t, reason, waits_on, hop=False):
        plain_park(self, g, p, t, reason, waits_on)
        if hop:  # the hop's schedule_after, which park does in line
            without_g_side(self, p, t, rt.SCHEDULE_MS + rt.CHAN_HANDOFF_MS)

    monkeypatch.setattr(Schedule, "schedule_after", without_g_side)
    monkeypatch.setattr(Goroutines, "park", park_without_g_side)
    share = _one(SHARE)
    assert share["model"] < 0.3 and share["model"] < share["real"]
    assert min(share["real_runs"]) < share["model"] + 0.02  # today's slowest windows


def test_the_churn_rows_agree_and_one_p_agrees_too(rows):
    """handoff_churn on two Ps: the model's time per item, P starts and moves agree with the
    recording, and on one P (no churn) the time per item agrees within 5 %. Each row is a real
    check: fed a value a third off the recording's, it differs."""
    one_real = run_experiment("handoff_churn", source="recorded", gomaxprocs=1)["item_ns"]
    one_model = model_prediction("handoff_churn", gomaxprocs=1)["item_ns"]
    assert abs(one_model - one_real) < 0.05 * one_real
    for rule in (CHURN_ITEM, CHURN_STARTS, CHURN_MOVES):
        assert _row(rows, rule)["agree"], rule.quantity
        assert rule.known_difference is None
    real = run_experiment("handoff_churn", source="recorded", gomaxprocs=2)
    model = model_prediction("handoff_churn", gomaxprocs=2)
    for rule in (CHURN_ITEM, CHURN_STARTS, CHURN_MOVES):
        key = rule.value.__closure__[0].cell_contents  # the result key _key(name) reads
        assert not judge(rule, real, {**model, key: 1.33 * real[key]})["agree"], rule.quantity


def _churn_without(monkeypatch, part: str) -> dict[str, dict]:
    """The churn rows (and prodcons' cycle) judged with one part of the model put back the way
    it was before #25 item 3's churn was modelled."""
    from labkit.models.scheduler.schedule import Schedule
    from labkit.models.scheduler.sysmon import Sysmon

    if part == "cas":  # take whatever runnext holds after the back-off
        steal = Schedule.steal_work

        def steal_any(self, p, t):
            if p.backed_off:
                seen = [q.runnext for q in self.ps if q is not p and q.runnext is not None]
                p.backoff_g = seen[0] if seen else p.backoff_g
            return steal(self, p, t)

        monkeypatch.setattr(Schedule, "steal_work", steal_any)
    elif part == "backoff":  # a back-off of 3 us and the fixed timer slack
        monkeypatch.setattr(Sysmon, "usleep_ms", lambda self, ms: ms + rt.TIMER_SLACK_MS)
    elif part == "rewake":  # a thread parked for microseconds wakes as one parked for ms
        monkeypatch.setattr(rt, "THREAD_REWAKE_QUANTILES_MS", rt.THREAD_WAKE_QUANTILES_MS)
    elif part == "futex":  # a wakep costs its waker nothing
        monkeypatch.setattr(rt, "FUTEX_WAKE_QUANTILES_MS", ((0.0, 0.0), (1.0, 0.0)))
    return {r.quantity: _one(r) for r in (CHURN_ITEM, CHURN_STARTS, CHURN_MOVES, CYCLE)}


@pytest.mark.parametrize(
    ("part", "differ"),
    [
        ("cas", (CHURN_STARTS, CHURN_MOVES)),
        ("backoff", (CHURN_STARTS, CHURN_MOVES, CYCLE)),
        ("rewake", (CHURN_MOVES, CYCLE)),
        ("futex", (CHURN_ITEM, CHURN_MOVES)),
    ],
)
def test_each_part_of_the_churn_put_back_makes_a_row_differ(monkeypatch, rows, part, differ):
    """runqgrab's CAS on the G seen before the sleep (without it ~31 starts and ~26 moves per
    1,000 items, against 20.6 and 9.9), the back-off as long as the recorded nanosleeps (with
    the fixed 53 us: ~17 starts, ~3.5 moves, the consumer back after ~65 us), a thread parked
    for microseconds waking fast (woken as one parked for ms: ~5.5 moves, the consumer back
    after ~106 us) and the futex wake's cost to the waker (without it ~2,120 ns an item and
    ~6.5 moves: the busy P keeps an exact rhythm the sleeps lock onto): each is needed."""
    for rule in (CHURN_ITEM, CHURN_STARTS, CHURN_MOVES, CYCLE):
        assert _row(rows, rule)["agree"], rule.quantity
    judged = _churn_without(monkeypatch, part)
    differing = {q for q, row in judged.items() if not row["agree"]}
    assert differing == {r.quantity for r in differ}


def test_the_churn_rows_quote_the_recording_they_are_judged_on():
    """The figures the three rows' texts give for real Go are the shipped recording's (a
    re-recording that moves them fails here until the texts say so)."""
    one = run_experiment("handoff_churn", source="recorded", gomaxprocs=1)
    two = run_experiment("handoff_churn", source="recorded", gomaxprocs=2)

    def span(key: str, fmt: str) -> str:
        runs = two[f"{key}_runs"]
        return f"{min(runs):{fmt}}-{max(runs):{fmt}}"

    item = CHURN_ITEM.rule
    assert f"{two['item_ns']:,.0f} ns on two Ps, {one['item_ns']:,.0f} on one" in item
    assert f"{two['cpu_item_ns']:,.0f} and {one['cpu_item_ns']:,.0f}" in item
    assert f"recording's {span('p_starts_per_kitem', '.1f')}" in CHURN_STARTS.rule
    assert f"regain_us, {span('regain_us', '.1f')}" in CHURN_STARTS.rule
    assert f"~{span('idle_hold_us', '.0f')} us" in CHURN_STARTS.rule
    assert f"recording's {span('migrations_per_kitem', '.1f')}" in CHURN_MOVES.rule
