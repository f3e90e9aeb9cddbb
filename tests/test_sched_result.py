"""The Result of a scheduler run: its arrays, its text views, and clear errors for bad input."""

from __future__ import annotations

import dataclasses
import gc
import re

import numpy as np
import pytest

from labkit.models.scheduler import (
    Chan,
    Go,
    ProgramError,
    SchedParams,
    cpu,
    cpu_demand_ms,
    io_wait,
    lock_os_thread,
    mark,
    recv,
    repeat,
    send,
    simulate,
    sleep,
    spawn,
    syscall,
)
from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt


def dashboard() -> Go:
    ch = Chan(0, "jobs")
    return Go(
        "main",
        [
            spawn(Go("worker", [recv(ch)])),
            spawn(Go("spinner", [cpu(50, stack="main.render;main.draw")])),
            spawn(Go("locked", [lock_os_thread(), sleep(100)])),
            spawn(Go("sys", [syscall(30)])),
            spawn(Go("net", [io_wait(40)])),
            cpu(5),
            sleep(20),
            send(ch),
        ],
    )


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: simulate(Go("main", []), gomaxprocs=0), "gomaxprocs"),
        (lambda: simulate(Go("main", []), gomaxprocs=2.5), "gomaxprocs"),
        (lambda: simulate(Go("main", []), until_ms=0), "until_ms"),
        (lambda: simulate(Go("main", []), seed=-1), "seed"),
        (lambda: simulate(Go("main", []), async_preempt="yes"), "async_preempt"),
        (lambda: simulate("main"), "simulate(main)"),
        (lambda: cpu(-1), "cpu(ms)"),
        (lambda: cpu(float("nan")), "cpu(ms)"),
        (lambda: syscall(-0.5), "syscall(ms)"),
        (lambda: io_wait("5"), "io_wait(ms)"),
        (lambda: cpu(1, stack="a;;b"), "stack"),
        (lambda: repeat(-1, []), "repeat"),
        (lambda: Chan(-1), "capacity"),
        (lambda: send("ch"), "send(ch)"),
        (lambda: Go("main", [cpu]), "step 0"),
        (lambda: Go("main", ["cpu(1)"]), "not a step"),
        (lambda: Go("", []), "name"),
        (lambda: mark(""), "mark(label)"),
    ],
)
def test_bad_input_raises_a_valueerror_naming_the_parameter(make, words):
    """Bad input fails where it is written, with a ValueError that says what is wrong."""
    with pytest.raises(ValueError, match=re.escape(words)):
        make()


@pytest.mark.parametrize(
    "ms, negative_ok, says",
    [
        (float("nan"), False, "finite"),
        (float("nan"), True, "finite"),
        (float("inf"), False, "finite"),
        (float("-inf"), True, "finite"),
        (-1.0, False, ">= 0 ms"),
        (-0.001, False, ">= 0 ms"),
        (True, False, "a number"),
        ("1", True, "a number"),
    ],
)
def test_a_duration_is_checked_on_its_fast_path_too(ms, negative_ok, says):
    """A float, the common case, takes a shortcut through the duration check
    (programs._check_ms): it refuses what the full check refuses, and a good one comes back
    as given, a negative one where it is allowed (sleep)."""
    step = sleep if negative_ok else io_wait
    with pytest.raises(ProgramError, match=says):
        step(ms)
    assert io_wait(2.5).ms == 2.5 and io_wait(0.0).ms == 0.0 and sleep(-2.0).ms == -2.0
    assert io_wait(3).ms == 3.0 and type(io_wait(3).ms) is float


def test_duplicate_goroutine_names_are_rejected():
    """Names identify goroutines in every view, so two different goroutines may not share one;
    one Go spawned three times (here in a loop) runs as three numbered goroutines."""
    with pytest.raises(ProgramError, match="'w'.*unique"):
        simulate(Go("main", [spawn(Go("w", [])), spawn(Go("w", []))]))
    res = simulate(Go("main", [repeat(3, [spawn(Go("x", [cpu(1)]))])]))
    assert list(res.finished_ms) == ["main", "x#1", "x#2", "x#3"]
    assert set(res.segments["g"].tolist()) == {"x#1", "x#2", "x#3"}


# ---- arrays --------------------------------------------------------------------------------------


def test_result_arrays_have_the_documented_fields():
    """The widgets read these names; keep them stable."""
    res = simulate(dashboard(), gomaxprocs=2, seed=3)
    assert res.segments.dtype.names == ("p", "g", "start_ms", "end_ms", "m", "stack")
    assert res.event_log.dtype.names == ("t_ms", "kind", "p", "g")
    assert res.thread_segments.dtype.names == ("m", "g", "start_ms", "end_ms", "kind")
    assert set(res.states) == {"t_ms", "running", "runnable", "waiting", "syscall"}
    assert set(res.runq) == {"t_ms", "local", "global"}
    assert res.runq["local"].shape == (len(res.runq["t_ms"]), 2)
    assert set(res.threads) == {"t_ms", "count"}
    for key in ("preemptions", "steals", "handoffs", "global_runq_puts", "threads_peak", "events"):
        assert isinstance(res.stats[key], int)
    assert set(res.event_log["kind"].tolist()) <= {
        "preempt", "handoff", "steal", "global_put", "wake", "spawn", "syscall_enter",
        "syscall_exit", "park", "ready", "exit",
    }  # fmt: skip
    assert set(res.thread_segments["kind"].tolist()) <= {"run", "syscall", "locked_wait", "netpoll"}
    assert res.params == SchedParams(gomaxprocs=2, async_preempt=True, until_ms=10_000.0, seed=3)
    assert res.program == "main" and res.gomaxprocs == 2
    assert res.threads["count"].max() == res.stats["threads_peak"]


def test_segments_carry_stacks_and_default_stacks():
    """A cpu step's stack labels its CPU time; otherwise "main.main" for main, "main.<name>"."""
    res = simulate(dashboard(), gomaxprocs=1)
    stacks = {
        g: set(res.segments[res.segments["g"] == g]["stack"].tolist()) for g in ("main", "spinner")
    }
    assert stacks == {"main": {"main.main"}, "spinner": {"main.render;main.draw"}}


def test_cpu_samples_are_a_100hz_profile_of_what_ran():
    """A CPU profile samples every 10 ms of CPU: a G that computes 100 ms alone gets 10 samples,
    keyed by its root-first stack."""
    main = Go("main", [spawn(Go("hot", [cpu(100, stack="main.loop;main.hash")]))])
    res = simulate(main, gomaxprocs=2)
    assert res.cpu_samples() == {("main.loop", "main.hash"): 10}
    assert res.cpu_samples(hz=1000) == {("main.loop", "main.hash"): 100}
    two = simulate(Go("main", [spawn(Go("a", [cpu(50)])), spawn(Go("b", [cpu(50)]))]), gomaxprocs=2)
    assert two.cpu_samples() == {("main.a",): 5, ("main.b",): 5}
    with pytest.raises(ValueError, match="hz"):
        res.cpu_samples(hz=0)


def test_goroutine_dump_is_go_debug2_text():
    """/debug/pprof/goroutine?debug=2: blank-line separated blocks; header ``goroutine N
    [status]:`` with the wait reason; frames as two lines, leaf first, exported library frames
    above the user's (unexported runtime.* frames hidden, showframe in traceback.go); ``created by main.main in goroutine 1``; ``, locked to thread`` when locked."""
    res = simulate(dashboard(), gomaxprocs=1)
    dump = res.goroutine_dump(10.0)
    blocks = dump.strip().split("\n\n")
    headers = [b.splitlines()[0] for b in blocks]
    assert headers == [
        "goroutine 1 [sleep]:",
        "goroutine 2 [chan receive]:",
        "goroutine 3 [running]:",
        "goroutine 4 [runnable]:",
        "goroutine 5 [runnable]:",
        "goroutine 6 [IO wait]:",
    ]
    worker = blocks[1].splitlines()
    assert worker[1] == "main.worker(...)"  # runtime.gopark / chanrecv1 are hidden, as in Go
    netwait = blocks[5].splitlines()
    assert netwait[1] == "internal/poll.runtime_pollWait(...)"
    assert re.fullmatch(r"\t/usr/local/go/src/runtime/netpoll\.go:\d+ \+0x[0-9a-f]+", netwait[2])
    assert worker[-2] == "created by main.main in goroutine 1"
    assert re.fullmatch(r"\t/app/main\.go:\d+ \+0x[0-9a-f]+", worker[-1])
    spinner = blocks[2].splitlines()
    assert spinner[1] == "main.draw(...)" and spinner[3] == "main.render(...)"
    for b in blocks:  # every frame line pair: "func(...)" then "\tpath:line +0x.."
        lines = b.splitlines()[1:]
        assert len(lines) % 2 == 0
        assert all(line.startswith("\t/") for line in lines[1::2])
    later = res.goroutine_dump(60.0)
    assert "goroutine 4 [sleep, locked to thread]:" in later
    assert "goroutine 2 " not in later  # the worker has finished by then
    assert res.goroutine_dump(0.0).startswith("goroutine 1 [running]:")


def test_summary_is_one_line_with_the_inputs():
    """Like OSTEP's simulators, every output names the inputs that produced it."""
    res = simulate(dashboard(), gomaxprocs=2, seed=7)
    line = res.summary()
    assert "\n" not in line
    for part in ("GOMAXPROCS=2", "seed=7", "async_preempt=True", "6/6 goroutines finished"):
        assert part in line


def test_cpu_demand_counts_cpu_steps_and_sleep_zero_calls():
    """cpu_demand_ms: what each G's segments add up to once it has finished."""
    main = Go("main", [spawn(Go("w", [repeat(3, [cpu(2), sleep(0)])])), cpu(1)])
    demand = cpu_demand_ms(main)
    res = simulate(main)
    assert demand["main"] == 1
    assert demand["w"] == pytest.approx(6 + 3 * pg.SLEEP_NOOP_MS, rel=0, abs=1e-12)
    got = res.cpu_ms()
    assert got == pytest.approx(demand)


def test_threads_series_steps_with_blocking_syscalls():
    """The threads time series shows the thread count growing as syscalls pile up."""
    main = Go("main", [spawn(Go(f"s{i}", [syscall(20)])) for i in range(4)])
    res = simulate(main, gomaxprocs=1)
    counts = res.threads["count"]
    assert counts[0] == 2  # main's M and sysmon
    assert counts.max() >= 5
    assert np.all(np.diff(res.threads["t_ms"]) > 0)


def test_to_profile_is_a_cpu_profile_the_loaders_and_flame_graph_read():
    """Result.to_profile(): 100 Hz samples of what each P ran, with Go's CPU sample types."""
    from labkit.profiles import load_profile

    main = Go(
        "main",
        [
            spawn(Go("spin", [cpu(60, calls=False, stack="main.main;main.spin")])),
            cpu(30, stack="main.main;main.work"),
        ],
    )
    prof = simulate(main, gomaxprocs=1, seed=0).to_profile()
    assert prof.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert prof.default_sample_type == "cpu"
    assert prof.total("samples") == 9  # 90 ms of CPU at one sample per 10 ms
    assert prof.top(2, "cpu") == [
        ("main.spin", 60_000_000, 60_000_000),
        ("main.work", 30_000_000, 30_000_000),
    ]
    again = load_profile(prof.to_pprof())
    assert again.stacks("cpu") == prof.stacks("cpu")


def test_goroutine_dump_reads_back_with_the_profile_loader():
    """goroutine_dump(at_ms) is Go's ?debug=2 text: load_profile reads the states back."""
    from labkit.profiles import load_profile

    ch = Chan(0, name="c")
    main = Go(
        "main",
        [spawn(Go("w", [recv(ch)])), spawn(Go("s", [sleep(50)])), sleep(1), cpu(20), send(ch)],
    )
    res = simulate(main, gomaxprocs=1, seed=0)
    dump = load_profile(res.goroutine_dump(10.0).encode())
    assert dump.format == "goroutine-debug2"
    assert dump.goroutine_states() == {"running": 1, "chan receive": 1, "sleep": 1}


def test_a_run_leaves_no_garbage_cycles_behind():
    """simulate() breaks the run's reference cycles (Scheduler.release) and the Result keeps no G,
    P or M: every object of the run is freed by reference counting the moment it is dropped,
    rather than waiting for (and slowing down) Python's cyclic garbage collector."""
    model_types = (rt.G, rt.P, rt.M, rt.Scheduler)
    gc.collect()
    gc.disable()
    try:
        res = simulate(dashboard(), gomaxprocs=2, seed=3)
        left = [type(o).__name__ for o in gc.get_objects() if isinstance(o, model_types)]
    finally:
        gc.enable()
    assert left == []
    assert "goroutine 1 [" in res.goroutine_dump(0.0)  # the Result still has what it shows


def test_a_network_write_waits_in_waitwrite_and_a_read_in_waitread():
    """Both park in the netpoller ([IO wait]); a dump shows which way the bytes go: a goroutine
    whose own innermost frame writes (Write, Flush) sits under net.(*conn).Write."""
    writer = Go("writer", [cpu(0.0, stack="main.reply;bufio.(*Writer).Flush"), io_wait(5.0)])
    reader = Go("reader", [cpu(0.0, stack="main.serve;main.readRequest"), io_wait(5.0)])
    res = simulate(Go("main", [spawn(writer), spawn(reader), io_wait(10.0)]), gomaxprocs=1)
    blocks = res.goroutine_dump(1.0).split("\n\n")
    write, read = (next(b for b in blocks if f"main.{f}(...)" in b) for f in ("reply", "serve"))
    assert "waitWrite" in write and "net.(*conn).Write" in write and "waitRead" not in write
    assert "waitRead" in read and "waitWrite" not in read


def test_library_frames_of_a_model_dump_are_where_a_real_go_dump_puts_them():
    """The standard-library frames the model prints above a waiting goroutine's own frames carry
    the file:line a real go1.27.3 dump prints for them (labkit/scenarios/casestudy/recorded, the artefacts
    in tests/data): a reader who opens the file at that line finds the call."""
    from pathlib import Path

    from labkit.models.scheduler import result as rs

    root = Path(__file__).resolve().parents[1]
    real = "\n".join(
        p.read_text()
        for p in [
            *sorted((root / "labkit/scenarios/casestudy/recorded").glob("dump_*.txt")),
            *sorted((root / "tests/data/artefacts").glob("*.txt")),
            *sorted((root / "tests/data/profiles").glob("*.txt")),
        ]
    )
    frames = [f for fs in rs._RUNTIME_FRAMES.values() for f in fs] + list(rs._WRITE_WAIT_FRAMES)
    for func, path, line, offset in frames:
        pc = "" if offset is None else f" +0x{offset:x}"
        assert f"{func}(" in real, func
        assert f"{path}:{line}{pc}\n" in real, (func, path, line, offset)


def test_simulate_takes_a_record_and_overrides_and_refuses_bad_values_by_name():
    """simulate has every model's shape (labkit.params): a SchedParams and overrides; a bad value
    is a SchedParamError, both a ProgramError and a labkit ParameterError, naming it."""
    from labkit.errors import ParameterError

    main = Go("main", [cpu(1)])
    record = SchedParams(gomaxprocs=2, seed=5)
    assert simulate(main, record, until_ms=50.0).params == record.replace(until_ms=50.0)
    for bad, message in [
        ({"gomaxprocs": 0}, "gomaxprocs"),
        ({"gomaxprocs": "4"}, "gomaxprocs must be a whole number"),
        ({"until_ms": float("inf")}, "until_ms must be finite"),
        ({"until_ms": 0}, "until_ms must be a number of ms > 0"),
        ({"seed": -1}, "seed"),
        ({"async_preempt": 1}, "async_preempt must be True or False"),
        ({"gomaxprocss": 2}, "unknown SchedParams parameter"),
    ]:
        with pytest.raises(ProgramError, match=message) as raised:
            simulate(main, **bad)
        assert isinstance(raised.value, ParameterError)


def test_a_step_is_frozen_and_built_field_by_field_as_its_dataclass_says():
    """Step has an __init__ of its own (programs._step_init, for the case study's build speed):
    it takes the dataclass's fields in their order, with their defaults, and the Step stays
    frozen, equal to and hashed as another with the same fields."""
    names = [f.name for f in dataclasses.fields(pg.Step)]
    assert names == list(pg.Step.__slots__)
    values = (pg.CPU, 1.5, "leaf", "a;b", None, None, 3, (), "x", None, 7, 0.5)
    given = dict(zip(names, values, strict=True))
    by_position = pg.Step(*given.values())
    assert {n: getattr(by_position, n) for n in names} == given
    assert by_position == pg.Step(**given) and hash(by_position) == hash(pg.Step(**given))
    defaults = {f.name: f.default for f in dataclasses.fields(pg.Step)[1:]}
    assert {n: getattr(pg.Step(pg.GOSCHED), n) for n in defaults} == defaults
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_position.ms = 2.0
    assert dataclasses.replace(by_position, ms=2.0).ms == 2.0 and by_position.ms == 1.5
