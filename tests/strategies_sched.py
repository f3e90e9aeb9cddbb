"""Hypothesis strategies for labkit.models.scheduler: random goroutine programs.

``programs()`` draws a main goroutine that spawns a few workers, each a short list of steps. With
``channels=True`` some workers exchange values over a few channels; sends and receives are drawn
in equal numbers per channel, so a program may still deadlock by ordering (the run must then say
so) but never by counting.
"""

from __future__ import annotations

from hypothesis import strategies as st

from labkit.models.scheduler import (
    Chan,
    Go,
    cpu,
    gosched,
    io_wait,
    lock_os_thread,
    mark,
    recv,
    repeat,
    send,
    sleep,
    spawn,
    syscall,
    unlock_os_thread,
    wait,
)

ms = st.floats(min_value=0.0, max_value=30.0, allow_nan=False, allow_infinity=False)
short_ms = st.floats(min_value=0.0, max_value=3.0, allow_nan=False, allow_infinity=False)


@st.composite
def plain_step(draw):
    """One step that needs no partner: CPU, syscall, network, sleep, yield, mark."""
    kind = draw(
        st.sampled_from(
            ["cpu", "cpu_loop", "syscall", "io", "sleep", "sleep0", "wait", "yield", "mark"]
        )
    )
    if kind == "cpu":
        return cpu(draw(ms), stack=draw(st.sampled_from([None, "main.work;main.hot"])))
    if kind == "cpu_loop":
        return cpu(draw(ms), calls=False)
    if kind == "syscall":
        return syscall(draw(short_ms))
    if kind == "io":
        return io_wait(draw(short_ms))
    if kind == "sleep":
        return sleep(draw(short_ms))
    if kind == "sleep0":
        return sleep(0)
    if kind == "wait":
        return wait(draw(short_ms), reason=draw(st.sampled_from(["select", "sync.Mutex.Lock"])))
    if kind == "yield":
        return gosched()
    return mark(draw(st.sampled_from(["a", "b"])))


@st.composite
def worker_steps(draw, max_steps: int = 6):
    steps = draw(st.lists(plain_step(), min_size=0, max_size=max_steps))
    if draw(st.booleans()) and steps:
        steps = [repeat(draw(st.integers(0, 3)), steps)]
    if draw(st.integers(0, 4)) == 0:  # sometimes a goroutine locked to its thread
        steps = [lock_os_thread(), *steps, unlock_os_thread()]
    return steps


@st.composite
def programs(draw, channels: bool = False, max_workers: int = 6):
    """A main goroutine spawning 0..max_workers workers (and, maybe, using channels)."""
    n = draw(st.integers(0, max_workers))
    bodies = [draw(worker_steps()) for _ in range(n)]
    main_steps = draw(st.lists(plain_step(), max_size=3))
    if channels and n >= 1:
        chans = [
            Chan(draw(st.integers(0, 2)), name=f"c{i}") for i in range(draw(st.integers(1, 2)))
        ]
        everyone = [main_steps, *bodies]
        for ch in chans:
            pairs = draw(st.integers(1, 3))
            for _ in range(pairs):
                for op in (send(ch), recv(ch)):
                    who = draw(st.integers(0, len(everyone) - 1))
                    body = everyone[who]
                    body.insert(draw(st.integers(0, len(body))), op)
    workers = [Go(f"w{i}", body) for i, body in enumerate(bodies)]
    spawns = [spawn(w) for w in workers]
    split = draw(st.integers(0, len(main_steps)))
    return Go("main", [*main_steps[:split], *spawns, *main_steps[split:]])


sim_kwargs = st.fixed_dictionaries(
    {
        "gomaxprocs": st.integers(1, 4),
        "async_preempt": st.booleans(),
        "seed": st.integers(0, 2**16),
    }
)
