"""sysmon: the thread without a P that preempts long runners and retakes Ps from syscalls.

Mirrors ``sysmon`` (src/runtime/proc.go:6537): its sleeps (20 us, doubled after 50 idle rounds
up to 10 ms, each stretched by the timer slack, or with ``cores=n`` by a recorded overshoot drawn
from the seed), its deep sleep while every P is idle, its poll
of a network nobody polled for 10 ms (proc.go:6620); ``retake`` (proc.go:6681): a G that has run
10 ms on one schedtick is asked to stop, and a P whose M sits in a syscall is taken
(syscallingThread.takeP, ``syscalls.py``) and handed off (``threads.py``); ``preemptone``
(proc.go:6917) with ``preemptM`` (src/runtime/signal_unix.go:369).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.cpus import quantile_ms
from labkit.models.scheduler.events import EV_PROLOGUE, EV_SYSMON
from labkit.models.scheduler.state import RUNNING, G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class Sysmon:
    """The sysmon part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def first_sysmon_round_ms(self: Scheduler) -> float:
        """When sysmon's first round comes, with its back-off state set to match. A process just
        started (the default): sysmon's first usleep(20), as runtime.main starts it
        (src/runtime/proc.go:6537). With ``sysmon_backoff=True``, a process that has run a while
        before t=0 with no P taken from a syscall (each of its rounds retook nothing, so
        ``idle`` passed 50 and its sleep doubled to 10 ms, proc.go:6551-6555): sysmon is in its
        10 ms rounds, and where t=0 falls in one is drawn from the seed (a stream of its own:
        the runtime's draws, work stealing's victims and cheaprand's, are as without it). A
        loop without calls started at t=0 is then stopped 10-20 ms in, depending on the seed,
        as real Go's spinner is after its program's calibration
        (labkit/golab/recorded/preempt.json: 14.6, 15.8 and 17.4 ms); the Go twins of chapter 2
        start so (labkit.golab.twin_fidelity)."""
        rng = self.sm_backoff_rng
        if rng is None:
            return rt.SYSMON_MIN_DELAY_MS + self.sysmon_late_ms()
        self.sm_idle = rt.SYSMON_IDLE_ROUNDS + 1
        self.sm_delay = rt.SYSMON_MAX_DELAY_MS
        if self.os_rng is None:
            late_ms = rt.TIMER_SLACK_MS
        else:  # the round's overshoot as sysmon_late_ms draws it, from the phase's own stream
            late_ms = quantile_ms(rt.SYSMON_OVERSHOOT_QUANTILES_MS, rng.random())
        return rng.random() * (rt.SYSMON_MAX_DELAY_MS + late_ms)

    def wake_sysmon(self: Scheduler, t: float) -> None:
        """notewakeup(&sched.sysmonnote) from exitsyscallTryGetP (src/runtime/proc.go:5089): sysmon resets to 20 us rounds.

        sysmon is a thread parked on a note (a futex): with the OS layer (``cores=n``) its first
        round comes a thread wake-up later (``thread_wake_ms``: the waker goes on running), not
        at the waker's instant. It matters for a call made just after the wake: real sysmon,
        woken by main's exitsyscall, first looks after the blocker entered its call and takes the
        P one round later (retake_keep queued, ~0.11 ms); looking at once, before the call, it
        needed two rounds (0.22 ms). Without the OS layer the round comes at once, as before
        (the model's results without ``cores`` are unchanged)."""
        self.sm_wait = False
        self.sm_idle = 0
        self.sm_delay = rt.SYSMON_MIN_DELAY_MS
        self.sm_token += 1
        wake_ms = 0.0 if self.cores is None else self.thread_wake_ms()
        self.push(t + wake_ms, EV_SYSMON, None, self.sm_token)

    def on_sysmon(self: Scheduler, t: float, deep_wake: bool) -> None:
        """Rounds of sysmon (src/runtime/proc.go:6537; each after its usleep): deep sleep when every P is idle,
        netpoll if nobody polled for 10 ms, retake, then the next sleep: 20 us, doubled after 50
        idle rounds, at most 10 ms, each stretched by the timer slack.

        Rounds that fall before the next event of the run are done here in a loop rather than
        through the event heap: nothing else can happen in between, so it is the same cadence,
        only cheaper.
        """
        stats = self.stats
        until = self.until_ms
        heap = self.heap
        os_rng = self.os_rng
        while True:
            stats["sysmon_ticks"] += 1
            if not deep_wake and len(self.pidle) == self.gomaxprocs:
                nxt = self.earliest_timer()
                sleep = (
                    rt.SYSMON_DEEP_SLEEP_MS
                    if nxt is None
                    else min(nxt - t, rt.SYSMON_DEEP_SLEEP_MS)
                )
                if sleep > 0:
                    self.sm_wait = True
                    self.sm_token += 1
                    self.push(t + sleep, EV_SYSMON, True, self.sm_token)
                    return
            deep_wake = False
            self.sm_wait = False
            lastpoll = self.lastpoll
            if self.netpoll_inited and lastpoll is not None and lastpoll + rt.NETPOLL_STALE_MS < t:
                self.lastpoll = t
                gs = self.take_net_ready()
                if gs:
                    self.injectglist(gs, None, t)
            if self.retake(t):
                self.sm_idle = 0
                self.sm_delay = rt.SYSMON_MIN_DELAY_MS
            else:
                self.sm_idle += 1
                if self.sm_idle > rt.SYSMON_IDLE_ROUNDS:
                    self.sm_delay = min(self.sm_delay * 2, rt.SYSMON_MAX_DELAY_MS)
            nxt = (
                t + self.sm_delay + (rt.TIMER_SLACK_MS if os_rng is None else self.sysmon_late_ms())
            )
            held = self.held  # is the next round sooner than every scheduled event?
            if (
                nxt > until
                or self.done
                or (held is not None and nxt >= held[0])
                or (heap and nxt >= heap[0][0])
                or (held is None and not heap)
            ):
                if self.dirty:  # a change in this round is noted now, at its own time
                    self.note(t)
                self.sm_token += 1
                self.push(nxt, EV_SYSMON, False, self.sm_token)
                return
            if self.dirty:
                self.note(t)
            self.inline_ticks += 1
            t = nxt
            self.now = t

    def usleep_ms(self: Scheduler, asked_ms: float) -> float:
        """How long runtime.usleep(asked) lasts (a nanosleep(2), src/runtime/sys_linux_amd64.s:120):
        what it asked plus ``sysmon_late_ms`` (runqgrab's usleep(3) sleeps as sysmon's do)."""
        return asked_ms + self.sysmon_late_ms()

    def sysmon_late_ms(self: Scheduler) -> float:
        """How much later than asked one of sysmon's usleeps ends (runtime.usleep, a nanosleep(2):
        src/runtime/sys_linux_amd64.s:120). Without an OS layer the timer slack, TIMER_SLACK_MS;
        with ``cores=n`` a draw from SYSMON_OVERSHOOT_QUANTILES_MS (the recorded nanosleeps) with
        the OS layer's stream of the run's seed: each round's length, so sysmon's phase against
        the program, then varies from seed to seed as on a real machine."""
        if self.os_rng is None:
            return rt.TIMER_SLACK_MS
        return quantile_ms(rt.SYSMON_OVERSHOOT_QUANTILES_MS, self.os_rng.random())

    def retake(self: Scheduler, t: float) -> int:
        """retake (src/runtime/proc.go:6681): preempt a G that has run 10 ms on one schedtick; take the P of an M
        that has been in a syscall for a whole sysmon tick (unless its queue is empty, others
        are idle or spinning, and it has been less than 10 ms). Returns the Ps taken."""
        n = 0
        for p in self.ps:
            if p.idle or p.m is None:
                continue
            schedtick = p.schedtick
            if p.sm_schedtick != schedtick:
                p.sm_schedtick = schedtick
                p.sm_schedwhen = t
                sysretake = False
            elif p.sm_schedwhen + rt.FORCE_PREEMPT_MS <= t:
                self.preemptone(p, t)
                sysretake = True
            else:
                sysretake = False
            g = p.syscall_g
            if g is None:
                continue
            if not sysretake and p.sm_syscalltick != p.syscalltick:
                p.sm_syscalltick = p.syscalltick
                p.sm_syscallwhen = t
                continue
            if (
                not p.runq
                and p.runnext is None
                and self.nmspinning + len(self.pidle) > 0
                and p.sm_syscallwhen + rt.SYSCALL_KEEP_MS > t
            ):
                continue
            self.take_p_from_syscall(p, t)
            n += 1
            self.handoffp(p, t)
        return n

    def preemptone(self: Scheduler, p: P, t: float) -> None:
        """preemptone (src/runtime/proc.go:6917): ask the G on p's M to stop (gp.preempt and
        gp.stackguard0), and signal the M (preemptM, src/runtime/signal_unix.go:369).

        Where a G in a CPU burst stops depends on the prologues its code has (``cpu(calls=...)``,
        Step.call_gap): gp.stackguard0 = stackPreempt is seen by the next stack-check prologue
        (newstack, src/runtime/stack.go:1122 -> gopreempt_m, stack.go:1174), which ordinary
        functions have and NOSPLIT leaves do not (src/cmd/internal/obj/x86/obj6.go:663-696). A
        burst that calls functions throughout stops now; one with a call every 1/r ms at its
        next call (event EV_PROLOGUE, ``prologue_stop``); one without prologues (no calls, or
        leaf calls only) only at the signal, which injects asyncPreempt where wantAsyncPreempt
        and isAsyncSafePoint agree (src/runtime/preempt.go:369 and 390), when async preemption
        is on (proc.go:6940, debug.asyncpreemptoff == 0), else at the burst's end. With the
        signal on, every burst stops now. A G in a syscall is not asked (proc.go:6926). If p's M is in schedule() (p.curg is None in the model) curg is nil, or
        the parking G, whose request execute clears (proc.go:3362): the request is lost, unless
        it comes in the switch's last SWITCH_G_SIDE_MS (plus, for a switch through a channel,
        CHAN_HANDOFF_MS: chansend's and chanrecv's work, src/runtime/chan.go:176 and 524, runs
        on the G's own stack up to gopark's mcall), when the next G already runs on its own
        stack past execute: then that G stops at its next stack check (recorded in
        p.preempt_at, read by execute). Where in the switch sysmon's round falls is not
        something the model can place (the rounds end by the timer slack, tens of us, later than
        asked, and a switch lasts a fraction of a us): the request stands with probability
        (that window) / (the switch's length), drawn from the run's generator, and only if
        the switch ends in execute. This is why a loop that sleeps 1 ns per iteration, and so
        spends most of its time in the scheduler, is rarely preempted.
        """
        g = p.curg
        if g is None:
            at = p.sched_at
            g_side = rt.SWITCH_G_SIDE_MS + p.sched_g_extra
            if at > t and self.cheaprand() < g_side / (at - p.sched_from) * 2**32:
                p.preempt_at = at
            return
        if g.status != RUNNING or g.rem is None:
            return
        if p.m.stalled is g:  # its M waits for a CPU (cpus.py): honoured when it has one
            g.preempt = True
            return
        if self.in_op(g):  # a channel operation's own CPU (chan.op_burst): after it returns
            g.preempt = True
            return
        gap = g.call_gap
        if not gap or self.async_preempt:
            g.rem = max(g.cpu_end - t, 0.0)  # stopped mid-burst: the rest runs when g is back
            g.token += 1
            self.preempt_now(g, p, t, cooperative=not gap)
        elif gap == math.inf or g.preempt:
            g.preempt = True  # no prologue in the burst (or its stop is already arranged)
        else:
            self.prologue_stop(g, t)

    def prologue_stop(self: Scheduler, g: G, t: float) -> None:
        """A preemption request to a G in a burst with a call every ``g.call_gap`` ms of CPU
        (``cpu(calls_per_ms=...)``): it stops at the next call's prologue (newstack,
        src/runtime/stack.go:1122), an EV_PROLOGUE event; if the burst ends first, at its end.
        The calls sit at whole multiples of the gap from the step's start, wherever earlier
        preemptions cut it."""
        g.preempt = True
        s = g.code[g.pc]
        done = s.ms - (g.cpu_end - t)  # the step's CPU done so far
        at = t + math.ceil(done / g.call_gap) * g.call_gap - done
        if at < g.cpu_end:
            self.push(at, EV_PROLOGUE, g, g.token)

    def prologue_reached(self: Scheduler, g: G, t: float) -> None:
        """EV_PROLOGUE: g's call reaches its prologue with the request pending: newstack ->
        gopreempt_m (src/runtime/stack.go:1122, 1174); the rest of the burst runs when g is
        back."""
        g.rem = g.cpu_end - t
        g.token += 1
        self.preempt_now(g, g.p, t, cooperative=True)
