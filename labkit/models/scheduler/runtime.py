"""The runtime's numbers: the constants and costs the scheduler model is built from.

Each constant names where its value comes from: a constant of src/runtime (proc.go, runtime2.go,
netpoll_epoll.go) or a recording in ``labkit/golab/recorded``. The model itself is split the way
proc.go is read, one module per part (see ``labkit/models/scheduler/__init__.py``): ``runq``, ``timers``,
``netpoll``, ``sysmon``, ``threads``, ``chan``, ``syscalls``, ``goroutine`` and ``schedule``,
composed into ``engine.Scheduler``.

This module also keeps the names older code reads here (``runtime.Scheduler``, ``runtime.G``,
the G statuses): it is what notebooks and other models import as ``labkit.models.scheduler.runtime``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler.state import (  # noqa: F401 - re-exported: labkit.models.scheduler.runtime's names
    DEAD,
    HISTORY_FIELDS,
    M_DEAD,
    M_IDLE,
    M_KIND_NAMES,
    M_LOCKED_WAIT,
    M_NETPOLL,
    M_RUN,
    M_SYSCALL,
    M_WAKING,
    RUNNABLE,
    RUNNING,
    STATUS_NAMES,
    SYSCALL,
    WAITING,
    G,
    M,
    P,
)

# ---- Constants of the runtime (with where each value comes from) --------------------------------

#: Capacity of a P's local run queue: ``runq [256]guintptr`` (src/runtime/runtime2.go:807, p).
LOCAL_RUNQ_SIZE = 256
#: findRunnable takes one G from the global queue first whenever ``pp.schedtick%61 == 0``
#: (src/runtime/proc.go:3458), whatever the local queue holds; apart from that it looks at the
#: global queue only when runnext and the local queue are empty (proc.go:3489). 61 is a prime,
#: "not too small, not too large": two goroutines that respawn each other through the local queue
#: would otherwise starve the global queue forever.
GLOBAL_CHECK_TICKS = 61
#: forcePreemptNS (src/runtime/proc.go:6679): retake asks a G to stop once its P has run on the
#: same schedtick for 10 ms (proc.go:6715).
FORCE_PREEMPT_MS = 10.0
#: sysmon's first sleep, usleep(20) (src/runtime/proc.go:6549-6550, "start with 20us sleep...").
SYSMON_MIN_DELAY_MS = 0.020
#: sysmon's longest sleep (src/runtime/proc.go:6554-6555, "up to 10ms").
SYSMON_MAX_DELAY_MS = 10.0
#: sysmon doubles its sleep once more than 50 rounds in a row retook no P (src/runtime/proc.go:6551,
#: "idle > 50"; idle is reset when retake returns non-zero, proc.go:6648-6649).
SYSMON_IDLE_ROUNDS = 50
#: Linux timer slack: a non-real-time thread's nanosleep may end up to 50 us late. This is the
#: kernel's default timer_slack_ns (prctl(2), PR_SET_TIMERSLACK): an assumption about the OS, not
#: a Go constant and not a measurement. With it sysmon's usleep(20) lasts 70 us, and after 51 such
#: rounds and the doublings its first round 10 ms after it noticed a tight loop's schedtick falls
#: at ~14.2 ms (without slack at ~11.2 ms). Real short sleeps overshoot more:
#: labkit/golab/recorded/sleep_resolution.json has nanosleep(20us) take 0.09-0.11 ms (medians,
#: ``nanosleep20_ms``, 2026-12-03 and -05), 70-90 us late. The model keeps 50 us because with
#: 90 us its other recorded comparisons get worse (labkit.golab.fidelity: main resumed after 11.7 ms against
#: preempt.json's 14.6-17.4, a syscall's P retaken after 0.22 ms against retake_keep.json's 0.11).
TIMER_SLACK_MS = 0.050
#: With simulate(cores=n), the OS layer: how much later than asked each of sysmon's usleeps ends,
#: as quantiles (level, ms) drawn with the OS layer's seeded generator (sysmon.sysmon_late_ms),
#: instead of TIMER_SLACK_MS; and each epoll_pwait timeout of the netpoller, which the kernel
#: sleeps on the same kind of timer with the same slack (netpoll.epoll_late_ms). From
#: labkit/golab/recorded/sleep_resolution.json (go1.27.3, 2 CPUs, nice -15, load 0.5; recorded
#: 2026-12-05 in one sitting with the timed experiments the OS layer is compared with: retake_keep,
#: pingpong_hog, spin_flag, ticker_load, mutex_starve, wg_order, prodcons, oversubscribe): 400
#: nanosleep(20 us) on a locked thread, as sysmon's usleep runs, less the 20 us asked
#: (calibrate.sysmon_overshoot_quantile_ms): p10 70 us, p50 71 us, p90 75 us, p99 97 us, the
#: slowest 121 us: the 50 us timer slack plus the thread's wake-up. So the rounds' phase against
#: the program drifts by a seeded draw each round, and sysmon's 50 short rounds take ~4.6 ms, not
#: 3.5. (On 2026-12-03 the same nanosleeps took ~89 us over: this machine's wake-ups move from
#: day to day, which is why the comparisons above are recorded in one sitting.)
SYSMON_OVERSHOOT_QUANTILES_MS: tuple[tuple[float, float], ...] = (
    (0.0, 0.05845),
    (0.01, 0.06661),
    (0.05, 0.06742),
    (0.1, 0.06968),
    (0.15, 0.0703),
    (0.2, 0.07051),
    (0.25, 0.07075),
    (0.3, 0.07088),
    (0.35, 0.07107),
    (0.4, 0.07115),
    (0.45, 0.07131),
    (0.5, 0.0715),
    (0.55, 0.07165),
    (0.6, 0.07182),
    (0.65, 0.07204),
    (0.7, 0.07228),
    (0.75, 0.07261),
    (0.8, 0.0729),
    (0.85, 0.07351),
    (0.9, 0.07513),
    (0.95, 0.07793),
    (0.96, 0.0783),
    (0.97, 0.07995),
    (0.98, 0.08063),
    (0.99, 0.09741),
    (0.992, 0.1043),
    (0.994, 0.1064),
    (0.996, 0.1107),
    (0.998, 0.1174),
    (0.999, 0.1191),
    (1.0, 0.1208),
)
#: sysmon polls the network if nobody has for 10 ms (src/runtime/proc.go:6620,
#: "lastpoll+10*1000*1000 < now").
NETPOLL_STALE_MS = 10.0
#: retake leaves a P in a syscall alone while its run queue is empty, another P is idle or an M
#: spins, and sysmon first saw the syscall less than 10 ms ago (src/runtime/proc.go:6754).
SYSCALL_KEEP_MS = 10.0
#: With every P idle, sysmon sleeps until the next timer, at most forcegcperiod/2 = 60 s
#: (src/runtime/proc.go:6527 and 6585).
SYSMON_DEEP_SLEEP_MS = 60_000.0
#: Passes over all Ps in stealWork (src/runtime/proc.go:3848, "const stealTries = 4"); timers and
#: runnext are taken only on the last (proc.go:3850).
STEAL_TRIES = 4
#: A thief backs off usleep(3) before taking a running P's runnext (runqgrab,
#: src/runtime/proc.go:7746), which the timer slack stretches like any nanosleep
#: (sysmon.usleep_ms: with simulate(cores=n) the drawn lateness of SYSMON_OVERSHOOT_QUANTILES_MS
#: instead). labkit/golab/recorded/handoff_churn.trace.gz shows such sleeps: an idle P held
#: without running a goroutine for 66-75 us (median of each process's stretches, ``idle_hold_us``
#: in handoff_churn.json), 3 us and the recorded nanosleeps' lateness (p50 71 us).
RUNNEXT_BACKOFF_ASKED_MS = 0.003
RUNNEXT_BACKOFF_MS = RUNNEXT_BACKOFF_ASKED_MS + TIMER_SLACK_MS
#: netpoll's epoll_wait timeout is in whole milliseconds (netpoll, src/runtime/netpoll_epoll.go:
#: 118-126): a delay under 1 ms waits 1 ms, a longer one is truncated to whole ms. So a goroutine
#: that sleeps 100 us in an otherwise idle program wakes after ~1 ms, and one that sleeps 2.5 ms is
#: polled for 2 ms, then for 1 ms more. (labkit/golab/recorded/sleep_resolution.json: Sleep(100us)
#: took 1.07 ms, Sleep(1.5ms) 2.15 ms; without an OS layer the model leaves out the kernel's
#: ~0.07 ms overshoot of each wait, see TIMER_SLACK_MS.)
NETPOLL_RESOLUTION_MS = 1.0


def netpoll_wait_ms(delay_ms: float) -> float:
    """How long one netpoll wait blocks for a timer ``delay_ms`` away (netpoll's epoll_wait
    timeout, src/runtime/netpoll_epoll.go:118-126): 0 for a due timer, 1 ms for a delay under
    1 ms, the whole milliseconds of a longer one."""
    if delay_ms <= 0:
        return 0.0
    if delay_ms < NETPOLL_RESOLUTION_MS:
        return NETPOLL_RESOLUTION_MS
    return math.floor(delay_ms / NETPOLL_RESOLUTION_MS) * NETPOLL_RESOLUTION_MS


#: Linux's slack for the timeout of select, poll and epoll_wait (fs/select.c,
#: select_estimate_accuracy): 0.1 % of the timeout for a thread of nice 0 or less (0.5 % above),
#: at least the thread's timer_slack_ns and at most 100 ms (MAX_SLACK). An assumption about the
#: OS, as TIMER_SLACK_MS is; sleep_resolution.json's Sleep(100ms) shows it: ~50 us later than a
#: 50 us slack would end it.
EPOLL_SLACK_SHARE = 0.001
EPOLL_SLACK_MAX_MS = 100.0


def epoll_slack_ms(timeout_ms: float) -> float:
    """The kernel's slack for an epoll_pwait of ``timeout_ms`` (EPOLL_SLACK_SHARE): TIMER_SLACK_MS
    up to a 50 ms timeout, 0.1 % of it beyond, at most EPOLL_SLACK_MAX_MS."""
    return min(max(TIMER_SLACK_MS, EPOLL_SLACK_SHARE * timeout_ms), EPOLL_SLACK_MAX_MS)


# ---- Costs (small fixed times where the real runtime spends them) -------------------------------
#
# Each is derived from a shipped recording by a function of labkit/golab/calibrate.py, named
# below; tests/test_calibrate.py re-derives every one and fails when a value here differs (to the
# digits written), and ``python3 course.py calibrate`` derives them again on your machine.
# Most come from labkit/golab/recorded/yield.json (go1.27.3, linux/amd64, GOMAXPROCS=1; a loop of
# 100,000 iterations beside a goroutine that counts its turns with Gosched; medians of 7 runs in
# each mode's ``ns_per_iter``, the runs in ``ns_per_iter_runs``; recorded at nice -15 on a quiet
# machine, 1-minute load 0.25): no yield 0.8123 ns/iter, Sleep(0) 1.63232, Gosched 124.5432,
# Sleep(1ns) 213.79912. (An earlier recording, begun at a load of 1.9, gave twice these: a busy
# machine stretches every switch; ``python3 course.py calibrate`` prints each recording's load.)
# tests/test_sched_costs.py simulates the same loops and fails when the model's cost per
# iteration leaves the recorded runs' range.

#: One trip through schedule() -> findRunnable -> execute -> gogo, with the mcall that got there
#: (gosched_m / park_m, src/runtime/proc.go). A Gosched iteration switches twice (main -> the
#: other goroutine -> main): calibrate.schedule_ms, 61.87 ns per switch (the other goroutine's
#: atomic add, a few ns, is counted in the switch).
SCHEDULE_MS = 0.00006187
#: What a switch through a channel costs beyond SCHEDULE_MS: the parking side's chanrecv /
#: chansend (lock(&c.lock), a sudog on recvq / sendq, gopark's chanparkcommit, src/runtime/
#: chan.go:524, 176, 667) and the waking side's send -> sendDirect -> goready -> ready(next=true)
#: (chan.go:318, proc.go:1133). labkit/golab/recorded/handoff_costs.json, case rounds (go1.27.3,
#: GOMAXPROCS=1, nice -15, load 0.7): a channel ping-pong's round trip against a Gosched round
#: trip, both two switches, timed alternately in each of 7 runs: median ratio 2.0376 (runs
#: 2.01-2.22; 233.6 ns against 113.6). calibrate.chan_handoff_ms: (ratio - 1) x SCHEDULE_MS =
#: 64.19 ns, so that the model's channel round is the recorded ratio times its Gosched round.
#: Every G that a channel operation readies had parked on that channel, so the model charges
#: the whole hop once, in the switch after that park (chan.py, selectgo.py, timerchan.py): right
#: in total, though the waker's half really runs on the waker's P.
CHAN_HANDOFF_MS = 0.00006419
#: A channel operation that neither parks nor hands over: chansend into a buffer with room and
#: chanrecv of a buffered value with no sender waiting (src/runtime/chan.go:236 and 612: lock,
#: typedmemmove, the indices, unlock). It runs on the G, a burst of its own (chan.op_burst).
#: labkit/golab/recorded/handoff_costs.json, case buffered (go1.27.3, GOMAXPROCS=1, nice -5,
#: load 0.32): a round of one such send and its receive against a Gosched round trip (two
#: switches), timed alternately in each of 7 runs: median ratio 0.2043 (runs 0.187-0.237; 60.2 ns
#: against 297.3 that day). calibrate.chan_op_ms: ratio x SCHEDULE_MS = 12.64 ns an operation.
#: A channel whose buffer never fills or empties costs this for each send and receive (#25:
#: gobench's BenchmarkChanProdCons10 and 100).
CHAN_OP_MS = 0.00001264
#: What such an operation costs more when the channel's last operation ran on another P: the
#: hchan's cache lines (the lock word, qcount, sendx / recvx, the buffer slot) come from the other
#: CPU (chan.op_burst, which also makes an operation that finds the channel's lock held spin
#: until it is free, as lock2 does: src/runtime/lock_spinbit.go:164, procyield at 225).
#: labkit/golab/recorded/handoff_costs.json, case shared (go1.27.3, GOMAXPROCS=2, nice -15,
#: load 0.1): two goroutines on the two Ps doing buffered rounds on one channel of capacity 2,
#: against one goroutine alone on its own, timed alternately in each of 7 runs: median ratio
#: 3.389 (runs 2.88-3.57; 111.7 ns a round of both against 32.6). In the model the four
#: operations of a shared round hold the lock one after another, each from the other P:
#: calibrate.chan_line_ms, (ratio / 2 - 1) x CHAN_OP_MS = 8.78 ns (#25: gobench's two-P
#: ChanProdCons rows).
CHAN_LINE_MS = 0.00000878
#: time.Sleep(d > 0) arming its timer as the G parks (timeSleep -> gopark -> park_m ->
#: resetForSleep -> timer.modify -> maybeAdd, src/runtime/time.go:335 and 684), and the timer
#: firing in findRunnable's (*timers).check (time.go:982, unlockAndRun -> goroutineReady ->
#: goready). A Sleep(1ns) iteration is one loop body, one switch and both (calibrate.timer_ms):
#: 151.1 ns. The recording gives only their sum; it is split evenly, 75.56 ns each.
TIMER_ARM_MS = 0.00007556
TIMER_FIRE_MS = 0.00007556
#: The part of a switch that runs on the G's own stack after execute (src/runtime/proc.go:3362)
#: cleared its preemption request: gogo's return into gopark, time.Sleep's tail, and the G's way
#: back into the runtime up to gopark's stack check. A request sysmon makes then (preemptone sets
#: gp.preempt and gp.stackguard0, proc.go:6917) survives and is honoured at the G's next stack
#: check (newstack, src/runtime/stack.go:1122 -> gopreempt_m); one made while the P is elsewhere
#: in the switch is lost: curg is nil (dropg) and preemptone gives up, or it is the parking G,
#: whose request the next execute clears. (Where in a switch a round of sysmon falls is drawn:
#: see preemptone.) Derived from the recorded Sleep(1ns) loops by calibrate.switch_g_side_ms:
#: 15 turns of the other goroutine in 1,666 ms, one per 111.1 ms; sysmon's requests (every
#: R = 10.05 ms) then survive at a rate q = 0.095, the share of an iteration main spends on its
#: own stack, (W + 0.8 ns loop body) / 213.8 ns: W = 19.4 ns.
SWITCH_G_SIDE_MS = 0.0000194
#: Waking a parked thread and handing it a P (notewakeup -> futex wake -> the thread runs): startm,
#: startlockedm, netpollBreak. labkit/golab/recorded/locked_pingpong.json (go1.27.3,
#: GOMAXPROCS=1, a channel ping-pong with the echoing goroutine locked to its thread: two thread
#: hand-offs per round trip, labkit/golab/go/locked_pingpong): median ``round_trip_us``
#: 10.38656 us, 5.2 us per hand-off (calibrate.thread_wake_ms). The runs spread widely (8.9-97 us
#: per trip): a thread whose CPU must first be woken from idle pays much more. Without an OS
#: layer every wake-up costs this; with simulate(cores=n) a wake-up by a thread that goes on
#: running is drawn from THREAD_WAKE_QUANTILES_MS instead (threads.thread_wake_ms).
THREAD_WAKE_MS = 0.0052
#: A thread that parked (stopm, src/runtime/proc.go:3007) less than this long ago is woken
#: (startm -> notewakeup -> futexwakeup) with THREAD_REWAKE_QUANTILES_MS, a longer-parked one
#: with THREAD_WAKE_QUANTILES_MS. An assumption about the OS, as TIMER_SLACK_MS is: KVM's
#: halt_poll_ns, whose default is 200,000 ns (the kvm module inside this VM shows that default;
#: its host's own setting cannot be read from inside), keeps a vCPU that has just gone idle
#: polling for work for that long before its host deschedules it, and a descheduled vCPU takes
#: tens of us to run again. The shipped recordings bracket it: the wake-ups of threads parked
#: under 20 us in handoff_churn.trace.gz, and handoff_costs' wake case, whose thread parked for
#: ~7 ms (THREAD_WAKE_QUANTILES_MS); none measures where between the two the change happens.
HALT_POLL_MS = 0.2
#: With simulate(cores=n): how long a thread parked less than HALT_POLL_MS ago takes from its
#: futex wake to holding its P (startm -> notewakeup -> futexwakeup; the woken thread's
#: acquirep, src/runtime/proc.go:3050, lock_futex.go:26), as quantiles (level, ms), drawn with
#: the OS layer's seeded generator (threads.thread_wake_ms). From the wake-ups in
#: labkit/golab/recorded/handoff_churn.trace.gz (go1.27.3, 2 CPUs, GOMAXPROCS=2, 10,000 items;
#: gotrace.thread_wakeups: from the ready whose wakep woke the thread to its P start; 172
#: wake-ups of a thread parked 0-20 us, p90 3.6 us; calibrate.rewake_quantile_ms): two kinds, about half
#: each: 1-6 us (p25 2.9 us), a thread caught before or just after its futex sleep began, and
#: 17-50 us (p75 30 us), one the kernel had put to sleep. A hand-off pair's idle P is started
#: again after such a short park every ~50 items (handoff_churn); its thread's way back is
#: what keeps the P's churn at the recorded rate.
THREAD_REWAKE_QUANTILES_MS: tuple[tuple[float, float], ...] = (
    (0.0, 0.000512),
    (0.01, 0.0006214),
    (0.05, 0.000704),
    (0.1, 0.001805),
    (0.15, 0.002749),
    (0.2, 0.00288),
    (0.25, 0.002944),
    (0.3, 0.003008),
    (0.35, 0.005329),
    (0.4, 0.006016),
    (0.45, 0.008125),
    (0.5, 0.01741),
    (0.55, 0.01991),
    (0.6, 0.02312),
    (0.65, 0.02453),
    (0.7, 0.02801),
    (0.75, 0.03011),
    (0.8, 0.03215),
    (0.85, 0.03712),
    (0.9, 0.03971),
    (0.95, 0.04352),
    (0.96, 0.04563),
    (0.97, 0.04738),
    (0.98, 0.04959),
    (0.99, 0.06414),
    (0.992, 0.07199),
    (0.994, 0.07985),
    (0.996, 0.08557),
    (0.998, 0.0911),
    (0.999, 0.09387),
    (1.0, 0.09664),
)
#: With simulate(cores=n): what a wakep's futex wake costs the goroutine whose ready made it
#: (wakep -> startm -> notewakeup -> futexwakeup, a futex(2) FUTEX_WAKE system call on the
#: waker's own thread, src/runtime/os_linux.go:85), as quantiles (level, ms): its next CPU step
#: lasts that much longer (threads.wakep, goroutine.burst). From
#: labkit/golab/recorded/handoff_churn.trace.gz (calibrate.futex_wake_quantile_ms): after each of
#: the 179 readies that found the other P idle, the readying thread's next event came p50
#: 11.7 us later, against 1.15 us after a ready that woke nobody (the 1 us of work each item
#: computes); the difference is the wake's cost: p10 1.9 us, p50 10.6 us, p90 17.8 us. A wake
#: that must bring an idle vCPU back costs its waker more (an IPI through the hypervisor).
FUTEX_WAKE_QUANTILES_MS: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (0.01, 0.0003059),
    (0.05, 0.000512),
    (0.1, 0.001856),
    (0.15, 0.002157),
    (0.2, 0.002854),
    (0.25, 0.003072),
    (0.3, 0.003712),
    (0.35, 0.004198),
    (0.4, 0.00503),
    (0.45, 0.006278),
    (0.5, 0.01056),
    (0.55, 0.0124),
    (0.6, 0.01336),
    (0.65, 0.01412),
    (0.7, 0.01542),
    (0.75, 0.01616),
    (0.8, 0.01651),
    (0.85, 0.01724),
    (0.9, 0.01775),
    (0.95, 0.01863),
    (0.96, 0.0188),
    (0.97, 0.01924),
    (0.98, 0.01959),
    (0.99, 0.03056),
    (0.992, 0.03972),
    (0.994, 0.04887),
    (0.996, 0.0573),
    (0.998, 0.06554),
    (0.999, 0.06967),
    (1.0, 0.07379),
)

#: With simulate(cores=n): how long a goroutine readied on a busy P waits for the other, idle P's
#: parked thread to wake and run it (wakep -> startm -> notewakeup -> futexwakeup, src/runtime/
#: proc.go:3227 and 3050, lock_futex.go:26; the thief's runqsteal, proc.go:7781), as quantiles
#: (level, ms), drawn with the OS layer's seeded generator and interpolated between them
#: (threads.thread_wake_ms). From labkit/golab/recorded/handoff_costs.json, case wake (go1.27.3,
#: 2 CPUs, GOMAXPROCS=2, nice -15, load 0.64-1.01; 7 x 300 wake-ups pooled:
#: calibrate.wake_quantile_ms): p10 25 us, p50 31 us, p90 44 us, p99 76 us, p99.9 115 us, the
#: slowest 2.2 ms, a thread the kernel queued behind the waker, which computes on, until the
#: waker's slice ended (EEVDF's base slice on 2 CPUs is 1.5 ms, see OS_SLICE_MS). A waker that
#: blocks at once (startlockedm, handoffp) frees its CPU instead and keeps THREAD_WAKE_MS.
THREAD_WAKE_QUANTILES_MS: tuple[tuple[float, float], ...] = (
    (0.0, 0.0132),
    (0.01, 0.0213),
    (0.05, 0.0237),
    (0.1, 0.0253),
    (0.15, 0.0263),
    (0.2, 0.0271),
    (0.25, 0.0277),
    (0.3, 0.0284),
    (0.35, 0.029),
    (0.4, 0.0297),
    (0.45, 0.0303),
    (0.5, 0.0311),
    (0.55, 0.032),
    (0.6, 0.0329),
    (0.65, 0.034),
    (0.7, 0.0351),
    (0.75, 0.0363),
    (0.8, 0.0378),
    (0.85, 0.0398),
    (0.9, 0.044),
    (0.95, 0.0518),
    (0.96, 0.055),
    (0.97, 0.0604),
    (0.98, 0.0642),
    (0.99, 0.0759),
    (0.992, 0.0799),
    (0.994, 0.085),
    (0.996, 0.0943),
    (0.998, 0.11),
    (0.999, 0.115),
    (1.0, 2.23),
)
SLEEP_NOOP_MS = pg.SLEEP_NOOP_MS
#: One spin of a contended sync.Mutex: runtime_doSpin is procyield(active_spin_cnt = 30), thirty
#: PAUSE instructions (src/runtime/proc.go:8006-8007, src/runtime/lock_spinbit.go:55,
#: procyieldAsm in src/runtime/asm_amd64.s:832), whose length is the CPU's, not Go's.
#: labkit/golab/recorded/mutex_spin.json (go1.27.3, linux/amd64, 2 CPUs (AMD EPYC);
#: labkit/golab/go/mutex_spin calls sync.runtime_doSpin in a loop; calibrate.mutex_spin_ms):
#: median ``spin_ns`` 769.9 ns
#: of the thread's CPU clock over 15 runs (750-801; the wall clock, stretched by the load of
#: 2.7 then, said 1193). lockSlow spins at most ACTIVE_SPIN = 4 times (mutex.py), about 3 us,
#: before it parks.
MUTEX_SPIN_MS = 0.0007699

# ---- The operating system (only with simulate(cores=n): cpus.py) --------------------------------

#: How long an M keeps a CPU while other Ms wait for one: a round-robin slice. An assumption
#: about the OS, not a Go constant (as TIMER_SLACK_MS): Linux's fair scheduler (EEVDF,
#: kernel/sched/fair.c, since 6.6) gives a task a base slice of 0.75 ms x (1 + ilog2(CPUs)),
#: 1.5 ms on 2 CPUs (sysctl_sched_base_slice, scaled by update_sysctl), but notices that it is
#: used up only at the scheduler tick (update_curr -> update_deadline -> resched_curr from
#: task_tick_fair), every 1/HZ: the recording machine's kernel (6.18, /proc/config.gz) has
#: CONFIG_HZ=250, a 4 ms tick, so CPU-bound threads sharing a CPU take turns of one tick.
OS_SLICE_MS = 4.0


# ``runtime.Scheduler`` (engine.Scheduler) is set by engine.py when it is imported (the package's
# ``__init__`` imports it, so every import of this module has it): engine.py imports this module
# for its constants, so importing it back here would be circular. Not a module ``__getattr__``
# doing the import on first use: CPython 3.11 does not specialise attribute loads on a module that
# has one, and the model reads ``rt.X`` on every event (benchmarks/README.md, #25 item 7).
if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler  # noqa: F401
