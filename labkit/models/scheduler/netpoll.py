"""The netpoller: Gs waiting on the network, and the M that blocks in epoll_wait for them.

Mirrors ``netpollblock`` (src/runtime/netpoll.go:548), where a G waiting for an fd parks,
``netpoll`` (src/runtime/netpoll_epoll.go:113; its millisecond timeout is
``runtime.netpoll_wait_ms``), findRunnable's non-blocking ``netpoll(0)`` (src/runtime/proc.go:
3510) and its blocking ``netpoll(delay)`` (proc.go:3747), and ``wakeNetPoller``
(proc.go:4017). sysmon's poll of a network nobody polled for 10 ms is in ``sysmon.py``.

In the model a G in ``io_wait`` parks with reason "IO wait"; its fd becomes ready after the
step's time (event ``EV_NET_READY``), and it waits in ``net_ready`` until someone polls. While an
M is blocked in netpoll, ``lastpoll`` is None and ``poller`` is ``(m, wake_ms or None)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.events import EV_NET_READY, EV_POLL_WAKE, EV_SCHED
from labkit.models.scheduler.state import M_IDLE, M_NETPOLL, RUNNABLE, G, M, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class Netpoll:
    """The netpoller part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def netpollblock(self: Scheduler, g: G, p: P, t: float, ms: float) -> None:
        """A read on the network that must wait: poll_runtime_pollWait -> netpollblock
        (src/runtime/netpoll.go:342 and 548). g parks until its fd is ready ``ms`` later
        (EV_NET_READY) and a netpoll finds it."""
        self.park(g, p, t, "IO wait", "network")
        self.net_waiters += 1
        self.netpoll_inited = True
        self.push(t + ms, EV_NET_READY, g)
        self.schedule_after(p, t, rt.SCHEDULE_MS)

    def take_net_ready(self: Scheduler) -> list[G]:
        """netpoll's result: every G whose fd is ready (the model polls them all at once)."""
        gs = self.net_ready
        self.net_ready = []
        self.net_waiters -= len(gs)
        if gs:
            self.stats["netpolls"] += 1
        return gs

    def netpoll_now(self: Scheduler, p: P, t: float) -> G | None:
        """findRunnable's non-blocking netpoll(0) (src/runtime/proc.go:3510): the first ready G
        runs, the rest are injected (injectglist)."""
        gs = self.take_net_ready()
        if not gs:
            return None
        g = gs.pop(0)
        self.set_status(g, RUNNABLE, t)
        self.log(t, "wake", p, g)
        if gs:
            self.injectglist(gs, p, t)
        return g

    def block_in_netpoll(self: Scheduler, m: M, t: float) -> None:
        """findRunnable's blocking netpoll(delay) (src/runtime/proc.go:3747): wait for an fd or
        the next timer, with epoll's millisecond timeout (netpoll_epoll.go:118-126).

        With the OS layer (``cores=n``) a timeout ends late (``epoll_late_ms``); a zero
        timeout (a timer already due) does not sleep."""
        self.lastpoll = None
        until = self.earliest_timer()
        self.m_state(m, t, M_NETPOLL)
        self.poll_token += 1
        if self.net_ready:
            wake = t
        elif until is None:
            wake = None
        else:
            wait = rt.netpoll_wait_ms(until - t)
            wake = t + wait
            if wait > 0:
                wake += self.epoll_late_ms(wait)
        self.poller = (m, wake)
        if wake is not None:
            self.push(wake, EV_POLL_WAKE, m, self.poll_token)

    def epoll_late_ms(self: Scheduler, wait_ms: float) -> float:
        """How much later than its timeout of ``wait_ms`` an epoll_pwait returns: 0 without the
        OS layer; with ``cores=n`` a draw from the recorded nanosleep overshoot, as for sysmon's
        usleeps (``sysmon_late_ms``), plus the slack a long timeout has beyond the nanosleep's.

        Linux sleeps both on an hrtimer with a slack, and the woken thread then has to run. A
        nanosleep's slack is the thread's timer_slack_ns (50 us, TIMER_SLACK_MS); a poll's is
        0.1 % of its timeout when that is more (rt.epoll_slack_ms). The recordings mostly agree
        (labkit/golab/recorded/sleep_resolution.json): a Sleep(100us) with nothing else to run,
        one epoll wait of 1 ms, takes 1.07 ms, ~70 us over, as a nanosleep(20 us) is; a
        Sleep(100ms), a 99 ms wait and then a 1 ms one, takes 100.26 ms. A wait of many ms ends
        later still, which this draw leaves out (the Sleep(20ms) row of labkit.golab.fidelity)."""
        if self.os_rng is None:
            return 0.0
        return self.sysmon_late_ms() + rt.epoll_slack_ms(wait_ms) - rt.TIMER_SLACK_MS

    def on_poll_wake(self: Scheduler, m: M, t: float) -> None:
        """The poller M returns from epoll_wait (findRunnable after netpoll, src/runtime/proc.go:
        3777-3803): take an idle P and run what is ready, or go on."""
        self.poller = None
        self.lastpoll = t
        gs = self.take_net_ready()
        if not self.pidle:
            if gs:
                self.injectglist(gs, None, t)
            self.stopm(m, t)
            return
        p = self.pidleget()
        p.m = m
        m.p = p
        if gs:
            g = gs.pop(0)
            self.set_status(g, RUNNABLE, t)
            self.log(t, "wake", p, g)
            if gs:
                self.injectglist(gs, p, t)
            p.schedtick += 1
            self.execute(g, p, m, t)
        else:
            # Woken for a timer: the M takes it wherever it is (checkTimersNoP, then stealWork's
            # timer pass, which a spinning M would do; the model lets the poller do it directly).
            self.m_state(m, t, M_IDLE)
            fired = 0
            for p2 in self.ps:
                if p2.timers and p2.timers[0][0] <= t:
                    fired += self.run_timers(p2, p, t)
            if fired:
                self.push(t + fired * rt.TIMER_FIRE_MS, EV_SCHED, p)
            else:
                self.on_sched(p, t)

    def on_net_ready(self: Scheduler, g: G, t: float) -> None:
        """An fd became ready: epoll would report it; a blocked poller wakes up
        (netpollBreak)."""
        self.net_ready.append(g)
        if self.lastpoll is None and self.poller is not None:
            self.poll_token += 1
            self.push(t + rt.THREAD_WAKE_MS, EV_POLL_WAKE, self.poller[0], self.poll_token)

    def wake_netpoller(self: Scheduler, when: float, t: float) -> None:
        """wakeNetPoller (src/runtime/proc.go:4017): break a blocked poller that would sleep past
        ``when``, or wakep."""
        if self.lastpoll is None:
            until = self.poller[1]
            if until is None or until > when:
                self.poll_token += 1
                wake = self.thread_wake_ms()  # (drawn with cores=n: the breaker runs on)
                self.push(t + wake, EV_POLL_WAKE, self.poller[0], self.poll_token)
        else:
            self.wakep(t)
