"""The fidelity rows of #25's gaps (item 6): what a hop through a channel costs, a pair that
hands the P back and forth beside a hog, a ticker whose receiver cannot keep up, the primitives a learner's program uses
(sync.Mutex's starvation mode, WaitGroup's wake order, a spin on an atomic flag), a consumer that
empties its channel in cycles, and the churn of an idle P's thread beside two goroutines that
take turns (handoff_churn).

Judged like every row of ``labkit.golab.fidelity`` (``RULES`` ends with these): the model within
max(K_MAD x MAD of the real runs, resolution) of the real median. The model runs of these
experiments have the OS layer with the recording machine's 2 CPUs (``predict_gaps.CORES``), so
sysmon's rounds and the netpoller's epoll waits end late by the recorded nanosleep overshoot,
as real ones do.
"""

from __future__ import annotations

from typing import Any

from labkit.golab.fidelity import Result, Rule, _const, _key, _runs


def _one_tick(real: Result, model: Result) -> float:
    """One tick in the window, as a share of the ticks due."""
    return real["params"]["period_ms"] / real["params"]["window_ms"]


def _one_round_share(real: Result, model: Result) -> float:
    """One of sysmon's 10 ms rounds, as a share of the window."""
    return 10.0 / real["params"]["window_ms"]


def _hold(real: Result, model: Result) -> float:
    """One of the holder's critical sections, ms."""
    return real["params"]["hold_us"] / 1000


def _set_row(params: dict[str, Any], quantity: str, rule: str, differ_means: str) -> Rule:
    return Rule(
        "spin_flag",
        params,
        quantity,
        _key("set_ms"),
        runs=_runs("set_ms"),
        resolution=_const(0.01),
        resolution_why="10 us (the program's clock reads)",
        rule=rule,
        differ_means=differ_means,
    )


GAP_RULES: tuple[Rule, ...] = (
    Rule(
        "handoff_costs",
        {"case": "rounds"},
        "a channel round trip's cost over a Gosched round trip's (one P)",
        _key("chan_gosched_ratio"),
        runs=_runs("chan_gosched_ratio"),
        resolution=_const(0.01),
        resolution_why="0.01 (the ratio's second decimal)",
        rule="both rounds are two goroutine switches, but each hop of the channel's carries "
        "chansend's hand-over to the parked receiver (send -> goready -> ready(next=true), "
        "src/runtime/chan.go:318, proc.go:1133) and chanrecv's park (gopark, chan.go:667): "
        "CHAN_HANDOFF_MS per hop in the model, derived from this ratio",
        differ_means="the model charges a channel hop like any switch (1.00, as the model did "
        "before CHAN_HANDOFF_MS), or CHAN_HANDOFF_MS no longer matches its recording",
        fitted=("CHAN_HANDOFF_MS",),
    ),
    Rule(
        "pingpong_hog",
        {},
        "the hog's share of a 300 ms window (beside a ping-pong pair, one P)",
        _key("hog_share"),
        runs=_runs("hog_share"),
        resolution=_one_round_share,
        resolution_why="one of sysmon's 10 ms rounds in the window",
        rule="each hop readies the partner into runnext, which inherits the time slice "
        "(execute, src/runtime/proc.go: schedtick not advanced), so sysmon sees one slice for "
        "forcePreemptNS = 10 ms and calls preemptone (retake, proc.go); the request reaches "
        "the pair when it lands while a goroutine runs on its own stack (chansend's and "
        "chanrecv's work, src/runtime/chan.go:176 and 524: CHAN_HANDOFF_MS, and the way back "
        "from gopark: SWITCH_G_SIDE_MS in the model), not in the part of the switch that "
        "execute ends by clearing gp.preempt (proc.go:3362): two thirds of each hop, so the "
        "pair and the hog share the P about evenly",
        differ_means="the model loses (or honours) the requests made to a hand-off pair at "
        "another rate than real Go: with all lost the hog gets nothing; with the channel's "
        "work counted as scheduler time (as before CHAN_HANDOFF_MS) it gets 0.22",
    ),
    Rule(
        "pingpong_hog",
        {},
        "ms the pair runs between two runs of the hog (median of windows)",
        _key("pair_run_ms"),
        runs=lambda r: [float(x) for x in r["pair_run_medians"]],
        resolution=_const(0.01),
        resolution_why="10 us (the program's clock reads)",
        rule="the pair keeps one time slice until a request survives: sysmon's rounds are 10 ms "
        "apart (backed off), so the pair runs a whole number of rounds, mostly two (20 ms: the "
        "first round notes the slice, the next preempts)",
        differ_means="sysmon's round or the rate at which the pair's requests survive is off",
    ),
    Rule(
        "ticker_load",
        {"case": "work"},
        "ticks received per tick due (2 ms of work after every 5th of 1 ms ticks)",
        _key("tick_ratio"),
        runs=_runs("tick_ratio"),
        resolution=_one_tick,
        resolution_why="one tick in the window",
        rule="a late periodic timer is rescheduled to the next period after now (unlockAndRun, "
        "src/runtime/time.go:1120: when + period*(1 + delay/period), as before Go 1.23), and "
        "the ticker's channel has a one-tick buffer (time.NewTicker; since Go 1.23 the timer is "
        "in a heap only while a receiver waits, needsAdd, time.go:657, and a late receive runs "
        "it then, maybeRunChan, time.go:1404): after the work one tick is had at once, the "
        "periods passed are skipped. With nothing to "
        "run the P waits in epoll_pwait, whose timeout is in whole ms and ends late as a "
        "nanosleep does (sleep_resolution), so a tick the receiver waited for comes ~0.57 ms "
        "late (tick_late_ms): its 2 ms of work then often ends past the third period and a "
        "second tick is lost, 0.787 of the ticks due, not 5 in 6 = 0.833",
        differ_means="the model's ticker queues ticks, or skips another number of periods, or "
        "its timers fire on time where the real ones wait for epoll_pwait",
        quantized=True,
    ),
    Rule(
        "ticker_load",
        {"case": "hog"},
        "ticks received per tick due (1 ms ticker beside a hog, one P)",
        _key("tick_ratio"),
        runs=_runs("tick_ratio"),
        resolution=_one_tick,
        resolution_why="one tick in the window",
        rule="the timer is in the P's heap, but the P runs its timers only when it schedules "
        "(findRunnable -> pp.timers.check, src/runtime/proc.go:3430; (*timers).check, "
        "time.go:982), which the hog allows once per time slice (sysmon's preemption, ~20 ms): "
        "one tick per slice, the rest dropped",
        differ_means="the model delivers ticks while the hog holds the P, or queues them",
        quantized=True,
    ),
    Rule(
        "mutex_starve",
        {},
        "ms the waiter waits for a mutex its holder takes again at once (median)",
        _key("wait_ms"),
        runs=_runs("wait_ms"),
        resolution=_hold,
        resolution_why="one of the holder's 100 us critical sections (the waiter that turns "
        "starving waits for the one under way)",
        rule="the woken waiter loses to the holder, which is running, until it has waited more "
        "than starvationThresholdNs = 1 ms (internal/sync/mutex.go:55); then it switches the "
        "mutex to starvation mode and the holder's next Unlock hands it over "
        "(runtime_Semrelease(handoff=true), mutex.go:232): a little over 1 ms",
        differ_means="the model's mutex has no starvation mode, or another threshold",
    ),
    Rule(
        "mutex_starve",
        {},
        "ms of the waiter's longest wait",
        _key("max_wait_ms"),
        runs=_runs("max_wait_ms"),
        resolution=_hold,
        resolution_why="one of the holder's 100 us critical sections",
        rule="starvation mode bounds every wait near 1 ms plus a critical section",
        differ_means="the model lets a waiter starve",
    ),
    Rule(
        "wg_order",
        {},
        "order 5 WaitGroup waiters run after Done",
        _key("order"),
        rule="the waiters park on the semaphore in the order they ran (5 from runnext first, "
        "then 1-4), and each of Add's releases readies one into runnext, pushing the one before "
        "to the local queue (semrelease1 -> readyWithTime -> ready(next=true), "
        "src/runtime/sema.go, proc.go): the last parked runs first, then the rest in order",
        differ_means="the model's WaitGroup releases its waiters in another order",
    ),
    Rule(
        "prodcons",
        {},
        "us from one of the consumer's parks to the next (two Ps, 0.5 us per item)",
        _key("cycle_us"),
        runs=_runs("cycle_us"),
        resolution=_const(1.0),
        resolution_why="1 us (the runs of three processes give the spread: the kernel's "
        "wake-ups a back-off is made of move from one process to the next)",
        rule="the consumer empties the buffer and parks; the producer's next send readies it "
        "into the producer's runnext (ready(next=true), src/runtime/proc.go:1133), which only "
        "another M can take, on stealWork's last pass after runqgrab's usleep(3) "
        "(proc.go:3850, 7746). Go's trace of one window (recorded/prodcons.trace.gz, "
        "gotrace.receive_parks): the send readies it 2.6 us after the park, the thread that "
        "parked it holds a P again 5.5 us after (woken 2.8 us after the ready: a thread parked "
        "microseconds before, THREAD_REWAKE_QUANTILES_MS), and runs it 73 us after: the "
        "usleep(3) lasts ~67 us (the 50 us timer slack and the thread's own wake-up, as the "
        "recorded nanosleeps of SYSMON_OVERSHOOT_QUANTILES_MS). The model draws both: the "
        "parked thread's wake-up and the sleep's lateness",
        differ_means="the thief takes a running P's runnext without runqgrab's back-off, or "
        "with a back-off that is not stretched by the timer slack (3 us: the consumer would be "
        "back after ~14 us, with ~7 items), or its thread, parked microseconds before, wakes as slowly as one "
        "parked for milliseconds (~106 us), or the consumer runs on the producer's P",
    ),
    Rule(
        "prodcons",
        {},
        "items the consumer takes between two parks (median)",
        _key("cycle_items"),
        runs=_runs("cycle_items"),
        resolution=_const(1.0),
        resolution_why="one item",
        rule="the producer goes on computing while the consumer waits in its runnext, so a "
        "cycle's items are its length over the producer's time per item: 0.5 us of work and "
        "the send (the recording's solo_item_ns, ~8 ns more; the model charges a send that "
        "does not park nothing). The consumer empties the buffer far faster than it fills, so "
        "the items pile up only while it waits",
        differ_means="the consumer is run again at another time (see the row above), or the "
        "producer waits for it",
    ),
    Rule(
        "handoff_churn",
        {"gomaxprocs": 2},
        "ns per item, two goroutines taking turns over an unbuffered channel, two Ps",
        _key("item_ns"),
        runs=_runs("item_ns"),
        resolution=_const(10.0),
        resolution_why="10 ns (a window's time over its 20,000 items)",
        rule="the two never run at once (each waits for the other's send or receive), so a "
        "second P cannot shorten an item: it is the two computations and two hand-offs, as on "
        "one P (send -> goready -> ready(next=true), src/runtime/chan.go:318, "
        "src/runtime/proc.go:1133, the sender parking at its next send). What the second P adds "
        "is a thread that looks for work: a ready that finds the P idle and no M spinning "
        "wakes it (wakep -> startm -> notewakeup, proc.go:1151, 3227, 3050), and the futex "
        "wake is a system call on the waker's own thread: in Go's trace the waker's next event "
        "comes ~11 us later instead of ~1 us (FUTEX_WAKE_QUANTILES_MS), ~20 times per 1,000 "
        "items. The recording: 2,653 ns on two Ps, 2,175 on one (CPU per item, getrusage, "
        "2,971 and 2,188). The model charges the wake to the goroutine that made it and gives "
        "~2,340 ns; the ~300 ns it still lacks is what it has no part for (a goroutine's data "
        "moving between the CPUs' caches when it resumes on the other P, the looking thread's "
        "reads of the busy P's queue)",
        differ_means="the model charges the second P's thread nothing (its futex wakes free: "
        "~2,120 ns, as on one P), or lets the two goroutines overlap",
        fitted=("FUTEX_WAKE_QUANTILES_MS", "THREAD_REWAKE_QUANTILES_MS"),
    ),
    Rule(
        "handoff_churn",
        {"gomaxprocs": 2},
        "times the idle P is started, per 1,000 items (two Ps)",
        _key("p_starts_per_kitem"),
        runs=_runs("p_starts_per_kitem"),
        resolution=_const(0.05),
        resolution_why="one start in the 20,000 items",
        rule="the idle P's thread is woken by a ready while no M spins (wakep -> startm, "
        "src/runtime/proc.go:3227, 3050); finding the other goroutine in the busy P's runnext "
        "it backs off usleep(3) and takes it only if the CAS finds the goroutine it saw "
        "(runqgrab, proc.go:7746-7756), else it sleeps again or, with runnext empty, drops the "
        "P and parks (stopm, proc.go:3007) until the next wakep: these starts are the "
        "stopm/startm churn, counted in Go's trace of one window per process (ProcStart "
        "events: gotrace.proc_churn; the recording's 17.9-21.5) and, in the model, as its "
        "wakeps in the window (the median of five windows, predict_gaps.CHURN_WINDOWS). A cycle "
        "is a back-off, ~74 us (3 us and a nanosleep's lateness, SYSMON_OVERSHOOT_QUANTILES_MS; "
        "the trace's idle P held ~66-75 us), and the wake-up of a thread that parked "
        "microseconds before (THREAD_REWAKE_QUANTILES_MS; the trace's thread holds a P again "
        "~10 us after dropping one, regain_us, 9.5-14.1)",
        differ_means="the model's thief takes whatever goroutine runnext holds after its "
        "back-off (~31 starts), or its back-off is the bare 53 us of TIMER_SLACK_MS (~17), or "
        "it holds the idle P for another time, or parks and is woken at another rate",
        fitted=("FUTEX_WAKE_QUANTILES_MS", "THREAD_REWAKE_QUANTILES_MS"),
    ),
    Rule(
        "handoff_churn",
        {"gomaxprocs": 2},
        "goroutine moves to the other P, per 1,000 items (two Ps)",
        _key("migrations_per_kitem"),
        runs=_runs("migrations_per_kitem"),
        resolution=_const(0.05),
        resolution_why="one move in the 20,000 items",
        rule="a goroutine changes P only when the idle P's thread takes it from the busy P's "
        "runnext after its back-off (runqgrab's CAS, src/runtime/proc.go:7756); the other then "
        "follows it when it parks and is readied there: two moves per successful CAS. Counted "
        "in Go's trace of one window per process (a goroutine running on another P than the "
        "last time: gotrace.proc_churn; the recording's 8.0-10.1) and in the model's segments "
        "(predict_gaps.migrations, median of five windows). Runnext holds the goroutine seen "
        "before the sleep about a quarter of the time; which one it holds when the sleep ends "
        "depends on where the busy P is in its items, and the futex wakes that delay the waker "
        "by ~2-18 us each (FUTEX_WAKE_QUANTILES_MS) keep that from repeating",
        differ_means="the model's thief takes runnext after its back-off more or less often "
        "than runqgrab's CAS succeeds (without the CAS ~26 moves), or the busy P keeps an exact "
        "rhythm the sleeps lock onto (without the futex wakes' cost: ~6.5), or a thread parked "
        "microseconds before wakes as slowly as one parked for milliseconds (~5.5)",
        fitted=("FUTEX_WAKE_QUANTILES_MS", "THREAD_REWAKE_QUANTILES_MS"),
    ),
    _set_row(
        {"calls": False, "async_preempt": True},
        "ms until main sets the flag (spin on the load alone, signals on)",
        rule="atomic loads are no preemption points; sysmon's request after 10 ms of one slice "
        "(retake, src/runtime/proc.go) stops the spinner by SIGURG (preemptM, asyncPreempt): "
        "main runs 10-20 ms after the spinner started, mostly 20 (two backed-off rounds)",
        differ_means="the model's atomic spin yields, or is preempted at another time",
    ),
    _set_row(
        {"calls": True, "async_preempt": False},
        "ms until main sets the flag (a call with a prologue each turn, no signals)",
        rule="with GODEBUG=asyncpreemptoff=1 the request is seen by the next stack-check "
        "prologue (newstack, src/runtime/stack.go): the same 10-20 ms",
        differ_means="the model does not stop a spin loop that calls functions without signals",
    ),
)
