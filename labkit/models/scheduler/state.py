"""The scheduler's three records, G, M and P, and the states they can be in.

Mirrors ``type g struct`` (src/runtime/runtime2.go:471), ``type m struct`` (runtime2.go:616) and
``type p struct`` (runtime2.go:774), reduced to the fields the model reads, and the goroutine
statuses ``_Grunnable`` .. ``_Gdead`` (runtime2.go). Each record has ``__slots__``: the run reads
and writes these fields on every event.

Nothing here acts: what changes a record is in the part of the scheduler that mirrors the runtime
function doing it (``runq``, ``timers``, ``threads`` ...).
"""

from __future__ import annotations

from collections import deque

from labkit.models.scheduler import programs as pg

# G status (mirrors _Grunnable, _Grunning, _Gwaiting, _Gsyscall, _Gdead in runtime2.go). They are
# also the first columns of the state row (records.py), which counts the Gs in each status.
RUNNABLE, RUNNING, WAITING, SYSCALL, DEAD = 0, 1, 2, 3, 4
STATUS_NAMES = ("runnable", "running", "waiting", "syscall", "dead")

#: Fields of one entry of a G's history as Result gives it: t_ms, status, reason, stack, locked.
#: (G.history stores them shorter: see records.py, "A G's history".)
HISTORY_FIELDS = 5
#: The tag of a full entry in G.history (records.py): t, HISTORY_FULL, status, reason, stack,
#: locked; a short entry's second item is a status (int >= 0) or a wait reason (str).
HISTORY_FULL = -1
#: The tag of a hop entry in G.history (records.py): t_ready, HISTORY_HOP, t, reason.
HISTORY_HOP = -2

# M states for the per-thread view
M_RUN, M_SYSCALL, M_LOCKED_WAIT, M_NETPOLL, M_IDLE, M_WAKING, M_DEAD = range(7)
M_KIND_NAMES = {
    M_RUN: "run",
    M_SYSCALL: "syscall",
    M_LOCKED_WAIT: "locked_wait",
    M_NETPOLL: "netpoll",
}
# The same, indexed by M state (None: not shown in the per-thread view), for m_state's hot path.
M_KIND_BY_STATE = tuple(M_KIND_NAMES.get(state) for state in range(M_DEAD + 1))


class G:
    """A goroutine: its program counter, status and what it waits on (g in runtime2.go)."""

    __slots__ = (
        "name", "goid", "prog", "code", "pc", "loops", "status", "reason", "rem", "cpu_end",
        "token", "call_gap", "preempt", "locked", "lockedm", "p", "m", "oldp", "seg_start",
        "seg_stack", "stack", "default_stack", "creator", "created_ms", "waits_on", "history",
        "ready_t", "run_t", "is_main", "waiting", "ticket", "debt_ms", "ops", "shared_ms",
    )  # fmt: skip

    def __init__(self, prog: pg.Go, goid: int, creator: G | None, t: float) -> None:
        self.name = prog.name
        self.goid = goid
        self.prog = prog
        self.code = prog.code  # the program compiled to flat steps (programs.compile_steps)
        self.pc = 0  # the index of the step the G is at
        self.loops = []  # iterations left in each loop the G is in, innermost last
        self.status = RUNNABLE
        self.reason = ""
        self.rem = None  # remaining ms of the current CPU burst, None if none started
        self.cpu_end = 0.0
        self.token = 0  # invalidates a pending CPU_DONE when the burst is interrupted
        # CPU ms between the stack-check prologues of the step g runs (Step.call_gap): 0.0 a
        # prologue everywhere, math.inf none (sysmon.preemptone reads it)
        self.call_gap = 0.0
        self.preempt = False  # gp.preempt: a preemption request waiting for a call
        self.locked = 0  # LockOSThread nesting (m.lockedExt)
        self.lockedm = None
        self.p = None
        self.m = None
        self.oldp = None
        self.seg_start = 0.0
        self.seg_stack = ""
        self.is_main = creator is None
        self.default_stack = prog.default_stack(self.is_main)
        self.stack = self.default_stack
        self.creator = creator
        self.created_ms = t
        self.waits_on = ""
        # for goroutine_dump: flat, full, short and hop entries one after another (records.py)
        self.history = []
        # The times of its short entries (t, RUNNABLE) and (t, RUNNING) not yet in ``history``:
        # ready and gogo leave them to the G's next history write (records.py, "Pending
        # entries"); None when there is none.
        self.ready_t = None
        self.run_t = None
        # gp.waiting: the primitive operation g is in the middle of, kept while it parks or
        # spins (a mutex's lockSlow, a WaitGroup, a timer channel, a select); None otherwise.
        self.waiting = None
        self.ticket = False  # sudog.ticket: a semaphore handed to g by semrelease (sema.py)
        # CPU it owes for a futex wake it made (threads.wakep, OS layer only): its next burst
        # lasts this much longer (goroutine.burst).
        self.debt_ms = 0.0
        self.ops = 0  # channel operations that ran their fast path, CHAN_OP_MS each (chan.op_burst)
        self.shared_ms = 0.0  # what they cost beyond that, the channel shared between Ps (op_burst)


class P:
    """A processor: the right to run Go code, with its run queue and timers (p in runtime2.go)."""

    __slots__ = (
        "id", "runq", "runnext", "schedtick", "syscalltick", "curg", "m", "idle", "timers",
        "sm_schedtick", "sm_schedwhen", "sm_syscalltick", "sm_syscallwhen", "syscall_g",
        "backed_off", "backoff_g", "runq_col", "runnext_col", "sched_from", "sched_at", "preempt_at",
        "zombies", "sched_g_extra",
    )  # fmt: skip

    def __init__(self, pid: int, runq_col: int, runnext_col: int) -> None:
        self.id = pid
        # This P's columns in the scheduler's state row (records.p_columns).
        self.runq_col = runq_col
        self.runnext_col = runnext_col
        self.runq = deque()
        self.runnext = None
        self.schedtick = 0
        self.syscalltick = 0
        self.curg = None
        self.m = None
        self.idle = False
        # heap of (when_ms, seq, g) for sleeps, (when_ms, seq, TimerChan) for timer channels
        self.timers = []
        self.zombies = 0  # timer channels in the heap marked for deletion (timerchan.py)
        # sysmontick: what sysmon saw last time (retake); -1 = not looked at yet
        self.sm_schedtick = -1
        self.sm_schedwhen = 0.0
        # -1: sysmon has not looked at this P's syscalls yet, so its first look at a syscall
        # records it (in a real process, runtime init has made syscalls long before main.main,
        # so Go's zero-initialised sysmontick never meets a fresh syscalltick of 0).
        self.sm_syscalltick = -1
        self.sm_syscallwhen = 0.0
        self.syscall_g = None  # the G in a syscall on this P's M, while the P is not retaken
        # runqgrab's usleep(3) before taking a running P's runnext is done: the stealing retry
        # that follows it takes the runnext if it still holds backoff_g, the G seen before the
        # sleep (the CAS, proc.go:7756), and sleeps again if it holds another (schedule.steal_work).
        self.backed_off = False
        self.backoff_g = None
        # The switch this P's M is in: from when, and when it decides in schedule() (its
        # pending SCHED event); how much of it, beyond SWITCH_G_SIDE_MS, runs on a G's own
        # stack (a channel operation's work: CHAN_HANDOFF_MS); and the decision whose execute
        # receives a preemption request sysmon made during the switch (preemptone).
        self.sched_from = -1.0
        self.sched_at = -1.0
        self.sched_g_extra = 0.0
        self.preempt_at = -1.0


class M:
    """An OS thread (m in runtime2.go). Ms are never freed, except by a locked G's exit (mexit)."""

    __slots__ = (
        "id", "p", "curg", "lockedg", "spinning", "state", "seg_start", "seg_g", "on_cpu",
        "cpu_waiting", "slice_end", "slice_armed", "cpu_token", "stalled",
    )  # fmt: skip

    def __init__(self, mid: int) -> None:
        self.id = mid
        self.p = None
        self.curg = None
        self.lockedg = None
        self.spinning = False
        self.state = M_IDLE
        self.seg_start = 0.0
        self.seg_g = ""
        # The OS layer (cpus.py, only with simulate(cores=n)): on a CPU, or in the queue for
        # one; when its slice ends and whether that is an event yet; a counter that voids its
        # pending slice and grant events; the goroutine whose burst waits for its CPU.
        self.on_cpu = False
        self.cpu_waiting = False
        self.slice_end = 0.0
        self.slice_armed = False
        self.cpu_token = 0
        self.stalled = None
