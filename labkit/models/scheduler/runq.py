"""Run queues: a P's local queue and runnext, the global queue, and what moves Gs between them.

Mirrors, in src/runtime/proc.go:

- ``runqput`` (proc.go:7529) and ``runqputslow`` (proc.go:7575): into runnext or the local
  queue's tail; a full queue moves half of itself to the global queue;
- ``runqget`` (proc.go:7649): runnext first (the G inherits the time slice), then the head;
- ``runqgrab`` (proc.go:7713) and ``runqsteal`` (proc.go:7781): a thief takes half of a victim's
  queue, or, on stealWork's last pass, its runnext;
- ``globrunqput`` (proc.go:7300), ``globrunqget`` (proc.go:7332) and ``globrunqgetbatch``
  (proc.go:7344): the global queue's tail and head;
- ``ready`` (proc.go:1133) and ``injectglist`` (proc.go:4060): a woken G, or a list of Gs from
  netpoll, becomes runnable.

These are the only code that moves a G into or out of a run queue, and so the only writers of the
state row's queue columns (``records.py``), but for one copy in line on the hot path (#25 item 7):
``on_sched`` (schedule.py) takes the runnext a hand-off left as ``runqget`` does. None of them marks the row ``dirty``, except the
batch moves that always did (``globrunqgetbatch``, ``runqsteal``): the status change that goes
with a queue move (``set_status``, ``execute``) marks it, and the golden hashes pin which rows a
run records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.records import ROW_GLOBAL
from labkit.models.scheduler.state import DEAD, RUNNABLE, G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class RunQueues:
    """The run-queue part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def runqput(self: Scheduler, p: P, g: G, nxt: bool) -> None:
        """runqput (src/runtime/proc.go:7529): into runnext (the old runnext is kicked to the
        tail) or the tail."""
        if nxt:
            old = p.runnext
            p.runnext = g
            if old is None:
                self.row[p.runnext_col] = 1
                return
            g = old
        if len(p.runq) < rt.LOCAL_RUNQ_SIZE:
            p.runq.append(g)
            self.row[p.runq_col] += 1
        else:
            self.runqputslow(p, g)

    def runqputslow(self: Scheduler, p: P, g: G) -> None:
        """runqputslow (src/runtime/proc.go:7575): a full local queue moves half of itself (128)
        plus g to the global queue."""
        batch = [p.runq.popleft() for _ in range(rt.LOCAL_RUNQ_SIZE // 2)]
        batch.append(g)
        self.grunq.extend(batch)
        self.row[p.runq_col] -= rt.LOCAL_RUNQ_SIZE // 2
        self.row[ROW_GLOBAL] += len(batch)
        self.stats["global_runq_puts"] += len(batch)
        self.log(self.now, "global_put", p, g)

    def runqget(self: Scheduler, p: P) -> tuple[G, bool]:
        """runqget (src/runtime/proc.go:7649) of a P with local work: its runnext, which inherits
        the time slice (True), else the head of its queue (False). (Its runnext case is copied
        in line in on_sched, the hot path.)"""
        g = p.runnext
        if g is not None:
            p.runnext = None
            self.row[p.runnext_col] = 0
            return g, True
        self.row[p.runq_col] -= 1
        return p.runq.popleft(), False

    def runqsteal(self: Scheduler, p: P, p2: P) -> G | None:
        """runqsteal/runqgrab (src/runtime/proc.go:7781 and 7713): take half of p2's queue
        (rounded up) into p's; the last one taken runs now. None if p2's queue is empty."""
        q = p2.runq
        k = len(q) - len(q) // 2
        if not k:
            return None
        stolen = [q.popleft() for _ in range(k)]
        g = stolen.pop()
        p.runq.extend(stolen)
        self.row[p2.runq_col] -= k
        self.row[p.runq_col] += k - 1
        self.dirty = True
        self.stats["steals"] += 1
        self.stats["stolen_gs"] += k
        return g

    def runnextsteal(self: Scheduler, p2: P) -> G:
        """runqgrab with stealRunNextG (src/runtime/proc.go:7720): take p2's runnext."""
        g = p2.runnext
        p2.runnext = None
        self.row[p2.runnext_col] = 0
        self.stats["steals"] += 1
        self.stats["stolen_gs"] += 1
        return g

    def globrunqput(self: Scheduler, g: G, p: P | None) -> None:
        """globrunqput (src/runtime/proc.go:7300): to the tail of the global queue (Gosched,
        preemption, exitsyscallNoP)."""
        self.grunq.append(g)
        self.row[ROW_GLOBAL] += 1
        self.stats["global_runq_puts"] += 1
        self.log(self.now, "global_put", p, g)

    def globrunqget(self: Scheduler) -> G:
        """globrunqget (src/runtime/proc.go:7332): one G from the global queue's head (the
        61st-schedtick check)."""
        self.row[ROW_GLOBAL] -= 1
        return self.grunq.popleft()

    def globrunqgetbatch(self: Scheduler, p: P) -> G:
        """globrunqgetbatch (src/runtime/proc.go:7344): n = min(128, len, len/GOMAXPROCS+1); the
        first runs, the rest go to p's queue."""
        q = self.grunq
        n = min(rt.LOCAL_RUNQ_SIZE // 2, len(q), len(q) // self.gomaxprocs + 1)
        g = q.popleft()
        for _ in range(n - 1):
            p.runq.append(q.popleft())
        self.row[ROW_GLOBAL] -= n
        self.row[p.runq_col] += n - 1
        self.dirty = True
        return g

    def ready(self: Scheduler, g: G, p: P, t: float) -> None:
        """ready (src/runtime/proc.go:1133): a woken G goes to p's runnext (and inherits the time
        slice), then wakep.

        On the hot path (every channel hand-off readies its partner here, or in this function's
        copies in line in chansend and chanrecv, chan.py: a change here is a change there):
        set_status, log, the runnext case of runqput and wakep's first test are in line, each the
        same as the function it stands for (records.set_status is the reference;
        tests/test_sched_properties.py recounts the row after every event, the golden hashes pin
        the histories and the log). With these and the in-line copies in park, gogo and
        on_sched, a 100,000-round ping-pong takes 0.51 s of CPU instead of 0.66 s (medians,
        benchmarks/README.md, #25 item 7); the three set_status copies (here, park, gogo) alone
        save 6 % of it (0.52 vs 0.55 s): about 55 ns per call saved, of ~2.5 us per event. Their
        history entries are the short form (records.py, "A G's history"), which took it to 0.47 s
        with note in line in the event loop (engine._loop); ready's is pending (records.py,
        "Pending entries"): g's next history write puts it in. The copies in chan.py save this
        call on a hand-off: 432 of a ping-pong's 23,749 instructions per event (-1.8 %)."""
        row = self.row
        old = g.status  # set_status(g, RUNNABLE, t), in line
        if old != DEAD:
            row[old] -= 1
        row[RUNNABLE] += 1
        g.status = RUNNABLE
        g.reason = ""
        g.ready_t = t  # its short entry (t, RUNNABLE), pending (records.py, "Pending entries")
        self.dirty = True
        self.events.extend((t, "ready", p.id, g.name))  # log(t, "ready", p, g), in line
        if p.runnext is None:  # runqput(p, g, True) into an empty runnext, in line
            p.runnext = g
            row[p.runnext_col] = 1
        else:
            self.runqput(p, g, True)
        if not self.nmspinning and self.pidle:  # wakep's own test first: mostly nothing to do
            self.wakep(t, p.curg)

    def injectglist(self: Scheduler, gs: list[G], p: P | None, t: float) -> None:
        """injectglist (src/runtime/proc.go:4060): Gs readied by netpoll become runnable.

        Without a P (sysmon, or a poller M that found no idle P) all of them go to the global
        queue and up to that many idle Ps get a (non-spinning) M: startIdle (proc.go:4102-4108).
        With a P, one G per idle P goes to the global queue, with an M started for each of those
        Ps (proc.go:4113-4124); the rest go to the tail of this P's local queue, and what does not
        fit there to the global queue (runqputbatch, proc.go:4126); then wakep (proc.go:4145).
        """
        for g in gs:
            self.set_status(g, RUNNABLE, t)
            self.log(t, "wake", p, g)
        if p is None:
            for g in gs:
                self.globrunqput(g, None)
            self.start_idle(len(gs), t)
            return
        k = min(len(self.pidle), len(gs))
        for g in gs[:k]:
            self.globrunqput(g, None)
        self.start_idle(k, t)
        for g in gs[k:]:
            if len(p.runq) < rt.LOCAL_RUNQ_SIZE:
                p.runq.append(g)
                self.row[p.runq_col] += 1
            else:
                self.globrunqput(g, p)
        self.wakep(t)

    def start_idle(self: Scheduler, n: int, t: float) -> None:
        """injectglist's startIdle (src/runtime/proc.go:4084): start an M on each of up to n idle
        Ps (startm with spinning=false)."""
        while n and self.pidle:
            self.startm(self.pidleget(), False, t)
            n -= 1
