"""Syscalls: a G that blocks in the kernel keeps its M, and its P until sysmon takes it.

Mirrors ``entersyscall`` (src/runtime/proc.go:4776, reentersyscall proc.go:4642), ``exitsyscall``
(proc.go:4922) with its fast path (proc.go:4969), ``exitsyscallTryGetP`` (proc.go:5072) and
``exitsyscallNoP`` (proc.go:5106), and ``syscallingThread.takeP`` (proc.go:6861), by which
sysmon's retake (``sysmon.py``) or a returning syscall takes a P from an M in a syscall.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.models.scheduler.events import EV_SYSCALL_DONE
from labkit.models.scheduler.state import M_LOCKED_WAIT, M_SYSCALL, RUNNABLE, SYSCALL, G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class Syscalls:
    """The syscall part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def entersyscall(self: Scheduler, g: G, p: P, ms: float, t: float) -> None:
        """entersyscall (src/runtime/proc.go:4776): g keeps its M and, until sysmon retakes it,
        its P (p.syscall_g); the syscall returns ``ms`` later (EV_SYSCALL_DONE)."""
        self.end_segment(g, p, t)
        m = p.m
        p.syscall_g = g
        p.curg = None
        g.p = p
        g.m = m
        self.set_status(g, SYSCALL, t, "syscall")
        g.waits_on = "syscall"
        self.log(t, "syscall_enter", p, g)
        self.m_state(m, t, M_SYSCALL, g)
        self.push(t + ms, EV_SYSCALL_DONE, g)

    def take_p_from_syscall(self: Scheduler, p: P, t: float) -> None:
        """syscallingThread.takeP (src/runtime/proc.go:6861): unwire p from the M whose G is in a
        syscall on it; that G will look for a P when its syscall returns (exitsyscall)."""
        g = p.syscall_g
        m = p.m
        m.p = None
        p.m = None
        p.syscall_g = None
        p.syscalltick += 1
        g.p = None
        g.oldp = p
        self.stats["handoffs"] += 1
        self.log(t, "handoff", p, g)

    def exitsyscall(self: Scheduler, g: G, t: float) -> None:
        """exitsyscall (src/runtime/proc.go:4922): the G keeps its P if sysmon left it there (the
        fast path, proc.go:4969), else it tries to get one (exitsyscallTryGetP); with none it
        waits on the global queue (exitsyscallNoP). With a P it runs on at once."""
        m = g.m
        p = g.p
        self.log(t, "syscall_exit", p, g)
        if p is not None and p.syscall_g is g:
            p.syscall_g = None
            p.syscalltick += 1
        else:
            p = self.exitsyscall_try_get_p(g, t)
            if p is None:
                self.exitsyscall_no_p(g, t)
                return
            p.m = m
            m.p = p
            p.syscalltick += 1
        self.gogo(g, p, m, t)

    def exitsyscall_try_get_p(self: Scheduler, g: G, t: float) -> P | None:
        """exitsyscallTryGetP (src/runtime/proc.go:5072): take the old P back *only if another M
        holds it in a syscall of its own* (setBlockOnExitSyscall(oldp) and takeP,
        proc.go:5075), else the first idle P (pidleget, proc.go:5086: the idle list is LIFO, so
        an idle old P is taken only if it is at its head), which wakes a deep-sleeping sysmon.
        None if there is no P to take."""
        oldp = g.oldp
        if oldp is not None and oldp.syscall_g is not None:
            self.take_p_from_syscall(oldp, t)
            return oldp
        if self.pidle:
            p = self.pidleget()
            if self.sm_wait:
                self.wake_sysmon(t)
            return p
        return None

    def exitsyscall_no_p(self: Scheduler, g: G, t: float) -> None:
        """exitsyscallNoP (src/runtime/proc.go:5106): no P for g: it goes on the global queue,
        without a wakep, and its M stops (stoplockedm if g is locked to it: the M waits for
        it)."""
        m = g.m
        g.p = None
        self.set_status(g, RUNNABLE, t)
        self.globrunqput(g, None)
        if m.lockedg is g:
            self.m_state(m, t, M_LOCKED_WAIT, g)  # stoplockedm
            m.curg = None
        else:
            self.stopm(m, t)
