"""The programs of #25's gaps, written again as ``labkit.models.scheduler`` goroutine programs:
a ping-pong pair beside a hog (``pingpong_hog``), a channel round against a Gosched round
(``handoff_costs``, case rounds), a 1 ms ticker whose receiver cannot keep up
(``ticker_load``), a mutex taken again and again by its holder (``mutex_starve``), the wake
order of a WaitGroup's waiters (``wg_order``), a goroutine spinning on an atomic flag
(``spin_flag``) and a consumer that empties a buffered channel faster than it fills
(``prodcons``).

As in ``predict_sched``, each function mirrors ``go/<name>/main.go``: the same goroutines, in
the same order, with the program's calibration where it decides sysmon's state; every figure is
read off the model run (marks, segments), the program's parameters are the only inputs.
Deterministic: same parameters and seed, same numbers.
"""

from __future__ import annotations

from statistics import median
from typing import Any

import numpy as np

from labkit.golab.predict_sched import CALIBRATION_MS, CORES, _calibration, _gaps, _marks, _sched

#: The pingpong_hog program's window starts this long after its goroutines (ms).
PINGPONG_LEAD_MS = 5.0

#: Rounds the model's pinger is given: more than a window can hold (a round trip costs two
#: goroutine switches, ~0.25 us); the run is cut at the window's end.
PINGPONG_ROUNDS = 10_000_000


def _runs_between(starts: np.ndarray, ends: np.ndarray, a: float, b: float) -> list[float]:
    """Lengths of the gaps between consecutive [start, end) stretches that lie wholly in (a, b):
    the other side's stretches."""
    out = []
    for end, nxt in zip(ends[:-1], starts[1:], strict=True):
        if end > a and nxt < b and nxt > end:
            out.append(float(nxt - end))
    return out


def pingpong_hog_run(window_ms: float = 300.0, *, seed: int = 0) -> Any:
    """The model's run of go/pingpong_hog (a labkit.models.scheduler Result, for a timeline):
    main calibrates, then starts a hog (a CPU loop without calls), the echo and the pinger of a
    ping-pong on unbuffered channels with no work per hop, on one P; the run ends
    PINGPONG_LEAD_MS + ``window_ms`` + 1 ms after they start."""
    s = _sched()
    ping, pong = s.Chan(capacity=0, name="ping"), s.Chan(capacity=0, name="pong")
    hog = s.Go("hog", [s.cpu(4 * window_ms, calls=False)])
    echo = s.Go("echo", [s.repeat(PINGPONG_ROUNDS, [s.recv(ping), s.send(pong)])])
    pinger = s.Go("pinger", [s.repeat(PINGPONG_ROUNDS, [s.send(ping), s.recv(pong)])])
    never = s.Chan(capacity=0, name="wg")
    main = s.Go(
        "main",
        [*_calibration(), s.mark("t0"), s.spawn(hog), s.spawn(echo), s.spawn(pinger)]
        + [s.recv(never)],
    )
    until = CALIBRATION_MS + PINGPONG_LEAD_MS + window_ms + 1.0
    return s.simulate(main, gomaxprocs=1, cores=CORES, until_ms=until, seed=seed)


def pingpong_hog(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """The pingpong_hog experiment in the model (``pingpong_hog_run``); mirrors
    go/pingpong_hog with one window (the model has no noise; its sysmon rounds keep their
    phase from the calibration). hog_share: the hog's segments' share of the window;
    pair_run_ms: the stretches between two of the hog's, wholly inside the window (the pair's
    hops, channel work included, are charged to switches, so the time the hog does not run is
    the pair's)."""
    window = p["window_ms"]
    res = pingpong_hog_run(window, seed=seed)
    a = _marks(res, "t0")[0] + PINGPONG_LEAD_MS
    b = a + window
    seg = res.segments[res.segments["g"] == "hog"]
    starts, ends = np.asarray(seg["start_ms"]), np.asarray(seg["end_ms"])
    covered = float((np.minimum(ends, b) - np.maximum(starts, a)).clip(0).sum())
    pair = _runs_between(starts, ends, a, b)
    inside = (starts > a) & (ends < b)
    hog_runs = [float(x) for x in (ends - starts)[inside]]
    return {
        "hog_share": covered / window,
        "pair_run_ms": median(pair) if pair else window,
        "pair_run_ms_runs": pair,
        "hog_run_ms": median(hog_runs) if hog_runs else 0.0,
        "hog_run_ms_runs": hog_runs,
        "pair_run_medians": [median(pair)] if pair else [window],
        "pair_runs_per_window": [len(pair)],
        "window_ms": window,
        "cpus": CORES,
    }


#: Round trips the model times per way (the program times ``rounds``, 100,000): the model has no
#: noise, and every round costs the same but for findRunnable's 61st-tick check.
MODEL_ROUNDS = 10_000


def _round_ns(s: Any, main_steps: list, partner: Any, rounds: int, seed: int) -> float:
    """ns per round of main's loop of ``rounds`` rounds beside ``partner``, one P."""
    main = s.Go("main", [s.spawn(partner), *main_steps[:1], s.mark("t0"), *main_steps[1:]])
    res = s.simulate(main, gomaxprocs=1, seed=seed)
    return (_marks(res, "t1")[0] - _marks(res, "t0")[0]) * 1e6 / rounds


def handoff_costs(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """go/handoff_costs, case rounds, in the model: main and another goroutine calling Gosched
    in turn (a round: main -> other -> main, both through the global queue), then a ping-pong
    over two unbuffered channels (a round: two hops, each readying the partner into runnext and
    parking); ns per round each, and their ratio (the program times both alternately, each of
    7 runs; the model's one run of each gives one ratio). The wake case has no model
    (predict.NO_MODEL_CASES)."""
    s = _sched()
    n = min(p["rounds"], MODEL_ROUNDS)
    other = s.Go("other", [s.repeat(n + 2, [s.gosched()])])
    gosched_ns = _round_ns(
        s, [s.gosched(), s.repeat(n, [s.gosched()]), s.mark("t1")], other, n, seed
    )
    ping, pong = s.Chan(capacity=0, name="ping"), s.Chan(capacity=0, name="pong")
    echo = s.Go("echo", [s.repeat(n + 1, [s.recv(ping), s.send(pong)])])
    warm = [s.send(ping), s.recv(pong)]  # the echoer is parked in its receive before timing
    chan_ns = _round_ns(s, [*warm, s.repeat(n, warm), s.mark("t1")], echo, n, seed)
    return {
        "case": "rounds",
        "gosched_round_ns": gosched_ns,
        "chan_round_ns": chan_ns,
        "chan_gosched_ratio": chan_ns / gosched_ns,
        "chan_gosched_ratio_runs": [chan_ns / gosched_ns],
        "rounds": n,
        "repeats": 1,
    }


def ticker_load(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """A receiver of a time.Ticker of period_ms on one P, computing work_ms after every
    every-th tick (case work) or beside a hog (case hog); mirrors go/ticker_load (one window).
    tick_ratio: ticks received in the window per period of it."""
    s = _sched()
    window, period = p["window_ms"], p["period_ms"]
    tk = s.ticker(period, name="ticker")
    got = [s.recv(tk), s.mark("tick")]
    if p["case"] == "work":
        per_cycle = [*got * (p["every"] - 1), *got, s.cpu(p["work_ms"], calls=False)]
        cycles = int(window / period / p["every"]) + 2
        steps = [tk.start(), s.mark("t0"), s.repeat(cycles, per_cycle)]
    else:
        hog = s.Go("hog", [s.cpu(2 * window, calls=False)])
        ticks = int(window / period) + 2
        steps = [s.spawn(hog), tk.start(), s.mark("t0"), s.repeat(ticks, got)]
    main = s.Go("main", [*_calibration(), *steps])
    res = s.simulate(
        main, gomaxprocs=1, cores=CORES, until_ms=CALIBRATION_MS + window + 1.0, seed=seed
    )
    t0 = _marks(res, "t0")[0]
    ticks_at = np.asarray(res.marks.get("tick", []), dtype=float)
    received = int(((ticks_at > t0) & (ticks_at <= t0 + window)).sum())
    ratio = received / (window / period)
    return {
        "case": p["case"],
        "tick_ratio": ratio,
        "window_ms": window,
        "period_ms": period,
        "cpus": CORES,
    }


#: At most this many of the holder's critical sections are simulated (more than the waiter's
#: locks can need: each of its waits is ~1 ms, each section ``hold_us``).
MAX_HOLDS = 200_000


def mutex_starve(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """A holder that locks a sync.Mutex, computes hold_us and unlocks, in a loop, beside a
    waiter that takes it ``locks`` times with gap_us of CPU between; two Ps; mirrors
    go/mutex_starve (one measurement). The CPU is measure.Burn, a leaf without a prologue."""
    s = _sched()
    mu = s.Mutex("mu")
    hold, gap = p["hold_us"] / 1000, p["gap_us"] / 1000
    holds = min(MAX_HOLDS, int(p["locks"] * (gap + 5.0) / hold) + 100)
    holder = s.Go("holder", [s.repeat(holds, [mu.lock(), s.cpu(hold, calls="leaf"), mu.unlock()])])
    wait = [s.mark("t0"), mu.lock(), s.mark("t1"), mu.unlock(), s.cpu(gap, calls="leaf")]
    main = s.Go(
        "main",
        [*_calibration(), s.spawn(holder), s.cpu(gap, calls="leaf"), s.repeat(p["locks"], wait)],
    )
    until = CALIBRATION_MS + holds * hold + 1.0
    res = s.simulate(main, gomaxprocs=2, cores=CORES, until_ms=until, seed=seed)
    starts, ends = res.marks.get("t0", []), res.marks.get("t1", [])
    waits = [b - a for a, b in zip(starts, ends, strict=False)]
    if len(starts) > len(ends):  # still waiting when the holder's loop ended: at least this long
        waits.append(res.end_ms - starts[len(ends)])
    return {
        "wait_ms": median(waits),
        "max_wait_ms": max(waits),
        "wait_ms_runs": [median(waits)],
        "max_wait_ms_runs": [max(waits)],
        "locks": len(waits),
        "cpus": CORES,
    }


def wg_order(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main starts n goroutines that each wait on a WaitGroup, sleeps 1 ms and calls Done;
    mirrors go/wg_order. order: the order the waiters ran after the release."""
    s = _sched()
    wg, all_done = s.WaitGroup("wg"), s.WaitGroup("all")
    n = p["n"]
    waiters = [
        s.spawn(s.Go(f"w{i}", [wg.wait(), s.mark(f"ran{i}"), all_done.done()]))
        for i in range(1, n + 1)
    ]
    main = s.Go(
        "main", [wg.add(1), all_done.add(n), *waiters, s.sleep(1.0), wg.done()] + [all_done.wait()]
    )
    res = s.simulate(main, gomaxprocs=1, cores=CORES, until_ms=100, seed=seed)
    order = sorted(range(1, n + 1), key=lambda i: _marks(res, f"ran{i}")[-1])
    return {"order": order, "all_same": True, "cpus": CORES}


def spin_flag(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main calibrates, then, each repeat, yields, starts a goroutine that spins on an atomic
    flag (calling a function with a prologue each turn, or not), yields, and sets the flag;
    mirrors go/spin_flag. set_ms: from starting the spinner until main set the flag."""
    s = _sched()
    steps = list(_calibration())
    for r in range(p["repeats"]):
        flag, done = s.Flag(f"f{r}"), s.Chan(capacity=0, name=f"done{r}")
        spinner = s.Go(f"spin{r}", [flag.spin(calls=p["calls"]), s.send(done)])
        steps += [s.gosched(), s.mark("t0"), s.spawn(spinner), s.gosched(), flag.set()]
        steps += [s.mark("set"), s.recv(done)]
    until = CALIBRATION_MS + p["repeats"] * 1_000
    res = s.simulate(
        s.Go("main", steps),
        gomaxprocs=1,
        cores=CORES,
        async_preempt=p["async_preempt"],
        until_ms=until,
        seed=seed,
    )
    runs = _gaps(res, "t0", "set")
    return {"set_ms": median(runs), "set_ms_runs": runs, "calls": p["calls"], "cpus": CORES}


#: The prodcons program's pause before each window, with both Ps idle (ms).
PRODCONS_PAUSE_MS = 5.0


def prodcons_run(items: int, buffer: int, work_us: float, *, seed: int = 0) -> Any:
    """The model's run of one window of go/prodcons on two Ps (a labkit.models.scheduler
    Result): main calibrates, pauses, starts the consumer, then computes ``work_us`` and sends,
    ``items`` times, into a channel of capacity ``buffer``; the consumer receives in a select
    with a default, marking ``park`` where the buffer was empty, before its blocking receive."""
    s = _sched()
    ch = s.Chan(capacity=buffer, name="items")
    take = s.select((s.recv(ch), []), default=[s.mark("park"), s.recv(ch)])
    consumer = s.Go("consumer", [s.repeat(items, [take])])
    send = [s.cpu(work_us / 1000.0, calls=False), s.send(ch), s.mark("sent")]
    main = s.Go(
        "main",
        [*_calibration(), s.sleep(PRODCONS_PAUSE_MS), s.spawn(consumer), s.repeat(items, send)],
    )
    return s.simulate(main, gomaxprocs=2, cores=CORES, seed=seed)


def prodcons(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """go/prodcons in the model, one window (``prodcons_run``). cycle_us: the median time from
    one of the consumer's parks to the next; cycle_items: the items it took in between, the
    items sent by the next park (the buffer is empty then), as the program counts them."""
    res = prodcons_run(p["items"], p["buffer"], p["work_us"], seed=seed)
    parks = np.asarray(_marks(res, "park"))
    sent_by = np.searchsorted(np.asarray(_marks(res, "sent")), parks, side="right")
    us = [float(x) * 1000.0 for x in np.diff(parks)]
    got = [float(x) for x in np.diff(sent_by)]
    if not us:
        us, got = [0.0], [float(p["items"])]
    return {
        "cycle_us": median(us),
        "cycle_us_runs": [median(us)],
        "cycle_items": median(got),
        "cycle_items_runs": [median(got)],
        "parks_runs": [len(parks)],
        "work_us": p["work_us"],
        "items": p["items"],
        "cpus": CORES,
    }


def handoff_churn_run(
    gomaxprocs: int, items: int, work_us: float, *, seed: int = 0, until_ms: float | None = None
) -> Any:
    """The model's run of one window of go/handoff_churn (a labkit.models.scheduler Result):
    main calibrates, pauses (PRODCONS_PAUSE_MS, as the program does before each window), starts
    the consumer, marks ``start``, then computes ``work_us`` and sends on an unbuffered channel,
    ``items`` times, while the consumer receives and computes ``work_us``; main marks ``end``
    once the consumer is done. ``until_ms`` cuts the run (handoff_churn counts the wake-ups
    before the window that way)."""
    s = _sched()
    ch, done = s.Chan(capacity=0, name="items"), s.Chan(capacity=0, name="done")
    work = s.cpu(work_us / 1000.0, calls=False)
    consumer = s.Go("consumer", [s.repeat(items, [s.recv(ch), work]), s.send(done)])
    main = s.Go(
        "main",
        [*_calibration(), s.sleep(PRODCONS_PAUSE_MS), s.spawn(consumer), s.mark("start")]
        + [s.repeat(items, [work, s.send(ch)]), s.recv(done), s.mark("end")],
    )
    kw = {} if until_ms is None else {"until_ms": until_ms}
    return s.simulate(main, gomaxprocs=gomaxprocs, cores=CORES, seed=seed, **kw)


def migrations(res: Any, start_ms: float, end_ms: float) -> int:
    """How often a goroutine's CPU stretch in [start_ms, end_ms] ran on another P than its
    previous stretch (the trace's count: gotrace.proc_churn)."""
    seg = np.sort(res.segments, order="start_ms")
    last: dict[int, int] = {}
    moved = 0
    for g, p, t in zip(seg["g"].tolist(), seg["p"].tolist(), seg["start_ms"].tolist(), strict=True):
        if start_ms <= t <= end_ms and g in last and last[g] != p:
            moved += 1
        last[g] = p
    return moved


#: Windows the model runs of handoff_churn (``handoff_churn``), each with its own OS-layer draws.
CHURN_WINDOWS = 5


def handoff_churn_window(p: dict[str, Any], seed: int) -> dict[str, float]:
    """One window of go/handoff_churn in the model (``handoff_churn_run``): item_ns, the window's
    time per item; p_starts_per_kitem, the wake-ups of an idle P's thread (wakep -> startm: the
    only way this program's idle P is started in the model) in the window, counted as the run's
    wake-ups less those of the same run cut at the window's start; migrations_per_kitem, the
    goroutines' moves between Ps (``migrations``)."""
    args = (p["gomaxprocs"], p["items"], p["work_us"])
    res = handoff_churn_run(*args, seed=seed)
    (start,), (end,) = _marks(res, "start"), _marks(res, "end")
    before = handoff_churn_run(*args, seed=seed, until_ms=start).stats.get("wakeps", 0)
    per_kitem = 1000.0 / p["items"]
    return {
        "item_ns": (end - start) * 1e6 / p["items"],
        "p_starts_per_kitem": (res.stats.get("wakeps", 0) - before) * per_kitem,
        "migrations_per_kitem": migrations(res, start, end) * per_kitem,
    }


def handoff_churn(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """go/handoff_churn in the model: CHURN_WINDOWS windows (``handoff_churn_window``, seeds
    ``CHURN_WINDOWS * seed + k``), each figure their median and its ``_runs`` the windows'.
    The windows differ as the real ones do, by the OS layer's draws (the moves between Ps went
    from 8.5 to 11 per 1,000 items over seeds 0-7 of one window); the recording's figure is the
    median of its processes' traced windows, and five windows give the model's centre more
    steadily than one."""
    windows = [handoff_churn_window(p, CHURN_WINDOWS * seed + k) for k in range(CHURN_WINDOWS)]
    out: dict[str, Any] = {"work_us": p["work_us"], "items": p["items"], "cpus": CORES}
    for key in windows[0]:
        runs = [w[key] for w in windows]
        out[key] = median(runs)
        out[f"{key}_runs"] = runs
    return out
