"""Timer channels: a time.Ticker's channel and time.After's, as the go1.23+ runtime runs them.

A ticker is a runtime timer with a channel of one slot (``time.NewTicker``, src/time/tick.go:36:
``make(chan Time, 1)``, newTimer with a period; a period <= 0 panics, tick.go:37-38) whose
function is ``sendTime`` (src/time/sleep.go:147), a *non-blocking* send (sleep.go:153-156): a
tick that finds the slot full is dropped. ``time.After`` (sleep.go:169) is the same with no
period. Since Go 1.23 the runtime keeps such a timer in a P's heap only while a goroutine is
blocked on its channel (``needsAdd``, src/runtime/time.go:655-657), so:

- a receive first runs the timer if it is due and not in a heap (``maybeRunChan``,
  time.go:1404, from chanrecv, src/runtime/chan.go:544-546, and selectgo, select.go:187-189);
- a receiver that blocks puts it in its own P's heap (``blockTimerChan``, time.go:1436, which
  also revives a timer still in the heap as a "zombie"); a receiver that is woken takes it out
  again, lazily: it is marked a zombie (``unblockTimerChan``, time.go:1478) and deleted when
  its P next looks at its timers ((*timers).run, time.go:1047 -> updateHeap, or the forced
  clean-up of (*timers).check when zombies are over a quarter of the heap, time.go:1003 and
  1029-1032; ``maybeAdd`` cleans the heap's head too, time.go:706);
- a fired periodic timer is rescheduled to the next multiple of its period *after now*
  (``unlockAndRun``, time.go:1117-1120: next = when + period*(1 + delay/period)), so the
  periods that passed while nobody waited are skipped, not queued.

So a loop slower than its ticker gets one tick per iteration, at once, and loses the rest; in
``Result.primitives`` a ticker counts ``sent`` ticks, ``skipped`` periods and ``dropped`` sends.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.chan import ChanState
from labkit.models.scheduler.state import G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class TimerChan:
    """A runtime timer with a channel (``timer`` with isChan, src/runtime/time.go:61-123, and
    its hchan of one slot): when it fires next (None: stopped or spent; Go's 0), its period (0 for
    time.After), the P whose heap holds it, whether it is a zombie there, and how many
    goroutines are blocked on its channel (``blocked``)."""

    __slots__ = (
        "name", "period", "when", "heap_p", "zombie", "blocked", "chan", "sent", "skipped",
        "dropped", "fired",
    )  # fmt: skip

    def __init__(self, name: str, period: float, when: float | None, chan: ChanState) -> None:
        self.name = name
        self.period = period
        self.when = when
        self.heap_p: P | None = None
        self.zombie = False
        self.blocked = 0
        self.chan = chan
        self.sent = 0  # ticks put in the channel or handed to a receiver
        self.skipped = 0  # periods jumped over by a late fire (unlockAndRun's next)
        self.dropped = 0  # fires whose non-blocking send found the slot full (sendTime)
        self.fired = 0

    def stats(self) -> dict[str, float]:
        return {
            "period_ms": self.period,
            "fired": self.fired,
            "sent": self.sent,
            "skipped": self.skipped,
            "dropped": self.dropped,
        }


class TimerChans:
    """The timer-channel part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def new_timer_chan(self: Scheduler, name: str, period: float, when: float) -> TimerChan:
        """newTimer (src/runtime/time.go:394) with a channel of one slot, not in any heap
        (needsAdd is false until someone blocks on the channel)."""
        return TimerChan(name, period, when, self.new_chan_state(name, 1))

    def ticker_start(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """time.NewTicker (src/time/tick.go:36): a fresh timer channel, first due one period
        from now. The Ticker's variable now names it (a second start() is a new ticker)."""
        tk = s.obj
        old = self.timerchans.get(id(tk))
        name = tk.name or (old.name if old else f"ticker{len(self.timerchans) + 1}")
        tc = self.new_timer_chan(name, tk.period_ms, t + tk.period_ms)
        self.timerchans[id(tk)] = tc
        self.prims.setdefault(name, []).append(tc)
        return True

    def current_ticker(self: Scheduler, g: G, s: pg.Step, t: float) -> TimerChan:
        tc = self.timerchans.get(id(s.obj))
        if tc is None:
            self.misuse(
                g,
                s,
                t,
                "the ticker was not started (its start() step, time.NewTicker, has not "
                "run): in Go its variable would still be nil",
            )
        return tc

    def ticker_stop(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """Ticker.Stop -> (*timer).stop (src/runtime/time.go:478-518): no further fire (when =
        0; a timer in a heap becomes a zombie) and the channel's pending tick is drained
        (timerchandrain, src/runtime/chan.go:358)."""
        tc = self.current_ticker(g, s, t)
        if tc.heap_p is not None and not tc.zombie:
            tc.zombie = True
            tc.heap_p.zombies += 1
        tc.when = None
        tc.chan.buffered = 0
        return True

    def tick_recv(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """``<-t.C``: chanrecv on a timer channel (src/runtime/chan.go:524): maybeRunChan first,
        then the tick in the slot, else block (blockTimerChan) and park ("chan receive"). A
        woken g unblocks the timer (chan.go:673-675) and goes on."""
        tc = g.waiting
        if tc is not None:  # woken by sendTime: the tick was handed over
            g.waiting = None
            self.unblock_timer_chan(tc)
            return True
        tc = self.current_ticker(g, s, t)
        self.maybe_run_chan(tc, p, t)
        st = tc.chan
        prev, st.last_p = st.last_p, p
        if st.buffered:
            st.buffered = 0
            return self.op_burst(g, p, t, st, prev)  # chanrecv's fast path (chan.py)
        st.recvq.append(g)
        self.block_timer_chan(tc, p, t)
        g.waiting = tc
        g.pc -= 1
        self.park(g, p, t, "chan receive", f"recv({tc.name})")
        self.schedule_after(
            p, t, rt.SCHEDULE_MS + rt.CHAN_HANDOFF_MS, rt.CHAN_HANDOFF_MS
        )  # (chan.py)
        return False

    def maybe_run_chan(self: Scheduler, tc: TimerChan, p: P, t: float) -> None:
        """(*timer).maybeRunChan (src/runtime/time.go:1404): a due timer that is in no heap runs
        now, on the receiver's P."""
        if tc.heap_p is None and tc.when is not None and tc.when <= t:
            self.timer_chan_run(tc, p, t)

    def block_timer_chan(self: Scheduler, tc: TimerChan, p: P, t: float) -> None:
        """blockTimerChan (src/runtime/time.go:1436): one more goroutine blocked on the
        channel; a zombie still in a heap is revived, a pending timer in no heap is added to
        this P's heap (maybeAdd, time.go:684)."""
        tc.blocked += 1
        if tc.heap_p is not None and tc.zombie and tc.when is not None:
            tc.zombie = False
            tc.heap_p.zombies -= 1
        if tc.heap_p is None and tc.when is not None:
            self.clean_head(p)
            earliest = p.timers[0][0] if p.timers else None
            heapq.heappush(p.timers, (tc.when, next(self.seq), tc))
            tc.heap_p = p
            if earliest is None or tc.when < earliest:
                self.wake_netpoller(tc.when, t)

    def unblock_timer_chan(self: Scheduler, tc: TimerChan) -> None:
        """unblockTimerChan (src/runtime/time.go:1478): the last receiver gone, a timer in a
        heap becomes a zombie there (deleted later, when_ms kept)."""
        tc.blocked -= 1
        if tc.blocked == 0 and tc.heap_p is not None and not tc.zombie:
            tc.zombie = True
            tc.heap_p.zombies += 1

    def timer_chan_fire(self: Scheduler, tc: TimerChan, src: P, dst: P, t: float) -> int:
        """A timer channel at the head of src's heap, due: (*timers).run (src/runtime/time.go:
        1047). A zombie is deleted (updateHeap), not run: 0. Else it runs (unlockAndRun) on dst
        and stays in the heap if periodic: 1 (a fired timer, TIMER_FIRE_MS)."""
        tc.heap_p = None
        if tc.zombie:
            tc.zombie = False
            src.zombies -= 1
            return 0
        self.timer_chan_run(tc, dst, t)
        if tc.when is not None:
            heapq.heappush(src.timers, (tc.when, next(self.seq), tc))
            tc.heap_p = src
        return 1

    def timer_chan_run(self: Scheduler, tc: TimerChan, p: P, t: float) -> None:
        """(*timer).unlockAndRun (src/runtime/time.go:1092) and sendTime (src/time/sleep.go:
        147): the next fire is the next multiple of the period after now (time.go:1117-1120),
        the periods in between are skipped; the tick is sent without blocking: to a waiting
        receiver (readied into p's runnext by goready), into the empty slot, or dropped."""
        tc.fired += 1
        if tc.period > 0:
            missed = math.floor((t - tc.when) / tc.period)
            tc.skipped += missed
            tc.when += tc.period * (1 + missed)
        else:
            tc.when = None
        st = tc.chan
        w = self.waitq_dequeue(st, st.recvq) if st.recvq else None
        if w is not None:
            tc.sent += 1
            self.ready(w, p, t)
        elif not st.buffered:
            tc.sent += 1
            st.buffered = 1
        else:
            tc.dropped += 1

    def clean_head(self: Scheduler, p: P) -> None:
        """(*timers).cleanHead (src/runtime/time.go:743): zombies at the head of p's heap are
        deleted."""
        timers = p.timers
        while p.zombies and timers and timers[0][2].__class__ is TimerChan and timers[0][2].zombie:
            tc = heapq.heappop(timers)[2]
            tc.heap_p = None
            tc.zombie = False
            p.zombies -= 1

    def clean_zombies(self: Scheduler, p: P) -> None:
        """(*timers).check's forced adjust (src/runtime/time.go:1003 and 1029-1032): on its own
        P, zombies over a quarter of the heap are all deleted."""
        if p.zombies <= len(p.timers) // 4:
            return
        keep = []
        for entry in p.timers:
            tc = entry[2]
            if tc.__class__ is TimerChan and tc.zombie:
                tc.heap_p = None
                tc.zombie = False
            else:
                keep.append(entry)
        heapq.heapify(keep)
        p.timers[:] = keep
        p.zombies = 0
