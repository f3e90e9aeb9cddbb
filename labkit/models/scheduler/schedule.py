"""The schedule loop: an M finds a G and runs it, or gives up its P.

Mirrors, in src/runtime/proc.go: ``schedule`` (proc.go:4150), ``findRunnable`` (proc.go:3404)
with ``stealWork`` (proc.go:3843), and ``execute`` (proc.go:3346). The queues it reads are in
``runq.py``, the timers in ``timers.py``, the netpoller in ``netpoll.py``, and what it does with
an M that finds nothing (or a G locked to another M) in ``threads.py``.

A switch costs time in the model: the M enters schedule() (``schedule_after``) and decides
SCHEDULE_MS later (event ``EV_SCHED``, ``on_sched``).
"""

from __future__ import annotations

import enum
from heapq import heappush
from typing import TYPE_CHECKING

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.events import EV_SCHED, EV_STEAL_RETRY
from labkit.models.scheduler.state import DEAD, M_KIND_BY_STATE, M_RUN, RUNNING, G, M, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class Steal(enum.Enum):
    """What stealWork did when it stole no G (it returns the G when it did)."""

    #: Nothing to steal anywhere: findRunnable goes on to drop the P.
    NOTHING = "nothing"
    #: It arranged for findRunnable to run again later: it fired another P's timers (their Gs
    #: are now in this P's runnext, after TIMER_FIRE_MS each), or it backs off usleep(3) before
    #: taking a running P's runnext (runqgrab, proc.go:7746; event EV_STEAL_RETRY). The P is
    #: kept.
    RETRY = "retry"


class Schedule:
    """The schedule loop of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def schedule_after(self: Scheduler, p: P, t: float, cost: float, g_extra: float = 0.0) -> None:
        """The M of p enters schedule() (src/runtime/proc.go:4150); it decides ``cost`` ms later.
        ``g_extra`` ms of the cost run on a G's own stack beyond SWITCH_G_SIDE_MS (a channel's
        chansend / chanrecv work), where a preemption request stands (sysmon.preemptone).

        A locked G that blocked makes its M stop instead (schedule -> stoplockedm): the P is
        handed off and the M waits for its G. (park has a copy in line for a channel hop,
        goroutine.py: a change here is a change there.)
        """
        m = p.m
        lg = m.lockedg
        if lg is not None and lg.status != DEAD and lg.status != RUNNING:
            self.stoplockedm(p, m, lg, t)
            return
        p.sched_from = t
        p.sched_g_extra = g_extra
        at = p.sched_at = t + cost
        held = self.held  # push(at, EV_SCHED, p), in line: once per switch (see ready, runq.py)
        if held is not None:
            heappush(self.heap, held)
        self.held = (at, next(self.seq), EV_SCHED, p, 0)

    def on_sched(self: Scheduler, p: P, t: float) -> None:
        """schedule() (src/runtime/proc.go:4150): find a G and execute it (or hand the P to the
        G's locked thread, startlockedm), or give up the P.

        The runnext a hand-off left (a readied partner, ready in runq.py) is taken here without
        calling find_runnable when findRunnable would take it too: no timers on p, and not a
        61st schedtick with Gs in the global queue (its steps 1-3); then runqget, in line.
        execute and gogo are in line too (every switch passes here: gogo's copy saves a call,
        460 of a ping-pong's 23,317 instructions per event, -2.0 %, #25 item 7)."""
        m = p.m
        self.nschedules += 1  # (a slot, not stats["schedules"]: one dict store less a switch)
        g = p.runnext
        if (
            g is not None
            and not p.timers
            and (not self.grunq or p.schedtick % rt.GLOBAL_CHECK_TICKS)  # (the cheap test first)
        ):
            p.runnext = None
            self.row[p.runnext_col] = 0
            inherit = True
        else:
            g, inherit = self.find_runnable(p, m, t)
            if g is None:
                return
        if m.spinning:
            self.resetspinning(m, t)
        if not inherit:
            p.schedtick += 1
        if g.lockedm is not None and g.lockedm is not m:
            self.startlockedm(g, p, m, t)
            return
        g.m = m  # execute(g, p, m, t), in line (every switch passes here; see ready, runq.py)
        g.preempt = p.preempt_at == t
        p.backed_off = False
        g.p = p  # gogo(g, p, m, t), in line
        p.curg = g
        m.curg = g
        row = self.row
        old = g.status  # set_status(g, RUNNING, t), in line
        if old != DEAD:
            row[old] -= 1
        row[RUNNING] += 1
        g.status = RUNNING
        g.reason = ""
        g.run_t = t  # its short entry (t, RUNNING), pending (records.py, "Pending entries")
        self.dirty = True
        kind = M_KIND_BY_STATE[m.state]  # m_state(m, t, M_RUN, g), in line
        if kind is not None and t > m.seg_start:
            self.thread_segments.extend((m.id, m.seg_g, m.seg_start, t, kind))
        m.state = M_RUN
        m.seg_start = t
        m.seg_g = g.name
        g.seg_start = t
        self.run(g, p, t)

    def execute(self: Scheduler, g: G, p: P, m: M, t: float) -> None:
        """execute (src/runtime/proc.go:3346): g runs on p's M. It clears gp.preempt
        (proc.go:3362): a request sysmon made while g was parking is lost. One made in the last
        SWITCH_G_SIDE_MS of the switch, after this clearing, stands (see preemptone).
        (on_sched has a copy in line, the hot path's.)"""
        g.m = m
        g.preempt = p.preempt_at == t
        p.backed_off = False
        self.gogo(g, p, m, t)

    def gogo(self: Scheduler, g: G, p: P, m: M, t: float) -> None:
        """gogo (src/runtime/asm_amd64.s:402), the end of execute and of exitsyscall: g is
        running, on m holding p, from t (a new stretch in both timelines), and walks its
        steps.

        On the hot path (every switch): set_status and m_state are in line, each the same as the
        function it stands for (see ready in runq.py for why and the checks); g's history entry
        is pending (records.py, "Pending entries"). on_sched has a copy of this function in line
        (a change here is a change there)."""
        g.p = p
        p.curg = g
        m.curg = g
        row = self.row
        old = g.status  # set_status(g, RUNNING, t), in line
        if old != DEAD:
            row[old] -= 1
        row[RUNNING] += 1
        g.status = RUNNING
        g.reason = ""
        g.run_t = t  # its short entry (t, RUNNING), pending (records.py, "Pending entries")
        self.dirty = True
        kind = M_KIND_BY_STATE[m.state]  # m_state(m, t, M_RUN, g), in line
        if kind is not None and t > m.seg_start:
            self.thread_segments.extend((m.id, m.seg_g, m.seg_start, t, kind))
        m.state = M_RUN
        m.seg_start = t
        m.seg_g = g.name
        g.seg_start = t
        self.run(g, p, t)

    def find_runnable(self: Scheduler, p: P, m: M, t: float) -> tuple[G | None, bool]:
        """findRunnable (src/runtime/proc.go:3404), in its order. Returns (g, inheritTime) or
        (None, False) when it has arranged what happens next itself (a retry event, or the P
        dropped).

        1. this P's own expired timers ((*timers).check, proc.go:3430; their Gs go to runnext,
        and the model resumes here after TIMER_FIRE_MS per timer); 2. one G from the global queue
        on every 61st schedtick, whatever the local queue holds (proc.go:3458); 3. runnext, then
        the local queue (proc.go:3484); 4. a batch from the global queue (proc.go:3489); 5. a
        non-blocking netpoll, reached only with both queues empty, and only if some G waits on
        the network and no other thread is polling (proc.go:3510); 6. stealing, if this M spins
        or fewer than half the busy Ps have spinning Ms (proc.go:3532): 4 passes over the Ps in
        random order, half of a victim's queue, timers and runnext on the last pass (stealWork);
        7. the P goes idle and the M parks, or blocks in netpoll until the next timer
        (proc.go:3747).
        """
        timers = p.timers
        if timers:
            if timers[0][0] <= t:
                if self.fire_then_retry(p, p, t):
                    return None, False
            elif p.zombies:  # (*timers).check's forced clean-up (timerchan.py)
                self.clean_zombies(p)
        if p.schedtick % rt.GLOBAL_CHECK_TICKS == 0 and self.grunq:
            return self.globrunqget(), False
        if p.runnext is not None or p.runq:
            return self.runqget(p)
        if self.grunq:
            return self.globrunqgetbatch(p), False
        if self.net_ready and self.lastpoll is not None:
            g = self.netpoll_now(p, t)
            if g is not None:
                return g, False
        busy = self.gomaxprocs - len(self.pidle)
        if m.spinning or 2 * self.nmspinning < busy:
            if not m.spinning:
                m.spinning = True
                self.nmspinning += 1
            got = self.steal_work(p, t)
            if got is Steal.RETRY:
                return None, False
            if got is not Steal.NOTHING:
                return got, False
        self.drop_p(p, m, t)
        return None, False

    def steal_work(self: Scheduler, p: P, t: float) -> G | Steal:
        """stealWork (src/runtime/proc.go:3843): STEAL_TRIES passes over the other Ps in a random
        order (a random start and a step coprime with GOMAXPROCS, randomOrder); half of the first
        non-empty queue (runqsteal); on the last pass also a victim's expired timers
        (proc.go:3850) and its runnext, after backing off usleep(3) if the victim is running
        (runqgrab, proc.go:7746; ``p.backed_off`` says the back-off is done). After the sleep
        runqgrab's CAS (proc.go:7756) takes runnext only if it still holds the G seen before
        (``p.backoff_g``); if the victim ran that G and readied another there meanwhile (a
        hand-off pair does so every item), the CAS fails and runqgrab sleeps again. The sleep
        lasts ``usleep_ms(3 us)``: a nanosleep, with the timer slack or the OS layer's drawn
        lateness.

        Returns the stolen G, or a :class:`Steal`: NOTHING, or RETRY when it has arranged the
        retry itself (timers fired, or the back-off).
        """
        n = self.gomaxprocs
        if n == 1:
            return Steal.NOTHING
        ps = self.ps
        if self.nothing_to_steal(p, t):
            # The four passes below would find nothing. They still draw their random orders, so
            # the run's later draws stay the same. (An idle P's spinning M meets this in most of
            # its stealWork calls: a case-study run makes ~1,900; walking the passes anyway was
            # 13 % of its scheduler time, benchmarks/README.md.) The four draws are dropped
            # from cheaprand's batch at once when it holds them: -2 % of a case-study run's
            # instructions (benchmarks/instructions_sched.py's way of counting).
            rand = self._rand
            if len(rand) >= rt.STEAL_TRIES:
                del rand[-rt.STEAL_TRIES :]
            else:
                for _ in range(rt.STEAL_TRIES):
                    self.cheaprand()
            p.backed_off = False
            return Steal.NOTHING
        coprimes = self.coprimes
        for i in range(rt.STEAL_TRIES):
            last = i == rt.STEAL_TRIES - 1
            r = self.cheaprand()
            pos, inc = r % n, coprimes[(r // n) % len(coprimes)]
            for _ in range(n):
                p2 = ps[pos]
                pos = (pos + inc) % n
                if p2 is p:
                    continue
                if last and p2.timers and p2.timers[0][0] <= t and self.fire_then_retry(p2, p, t):
                    p.backed_off = False
                    return Steal.RETRY
                if p2.idle:
                    continue
                g = self.runqsteal(p, p2)
                if g is not None:
                    self.log(t, "steal", p, g)
                    return g
                if last and p2.runnext is not None:
                    g = p2.runnext
                    if p2.syscall_g is None and not (p.backed_off and g is p.backoff_g):
                        # runqgrab: usleep(3) first, p2 is probably about to run it; after the
                        # sleep, the CAS takes it only if runnext still holds the G seen before
                        # (proc.go:7756); another G there means sleeping again.
                        p.backed_off = False
                        p.backoff_g = g
                        self.push(
                            t + self.usleep_ms(rt.RUNNEXT_BACKOFF_ASKED_MS), EV_STEAL_RETRY, p
                        )
                        return Steal.RETRY
                    g = self.runnextsteal(p2)
                    p.backed_off = False
                    self.log(t, "steal", p, g)
                    return g
        p.backed_off = False
        return Steal.NOTHING

    def nothing_to_steal(self: Scheduler, p: P, t: float) -> bool:
        """Whether stealWork's passes can only come back empty-handed: no P has a timer due
        (the last pass runs those, proc.go:3850) and no busy P has a queue or a runnext to take
        (idle Ps are passed over). A shortcut of ``steal_work``, which must give the same run."""
        for p2 in self.ps:
            if p2 is not p and (
                (p2.timers and p2.timers[0][0] <= t)
                or (not p2.idle and (p2.runq or p2.runnext is not None))
            ):
                return False
        return True

    def drop_p(self: Scheduler, p: P, m: M, t: float) -> None:
        """The end of findRunnable: release the P (releasep, pidleput, src/runtime/proc.go:3631
        and 3634) and stop spinning (proc.go:3675); the M blocks in netpoll if there is something
        to wait for and nobody else does (proc.go:3747), else it parks (stopm, proc.go:3811)."""
        if m.spinning:
            m.spinning = False
            self.nmspinning -= 1
        m.p = None
        self.pidleput(p, t)
        if self.done:
            return
        if (self.net_waiters or self.any_timers()) and self.lastpoll is not None:
            self.block_in_netpoll(m, t)
        else:
            self.stopm(m, t)
