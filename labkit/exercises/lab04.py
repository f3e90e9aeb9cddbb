"""Exercises of labs/lab04-pool-tuner.ipynb: size a pool, tune the watchdog, yield, Erlang C, and
the queueing core (the hockey stick, Kingman, sharing against FCFS, coordinated omission).

Every answer comes from the course's models (``labkit.models.pool``, ``labkit.models.pipeline``,
``labkit.golab.model_prediction`` over ``labkit.models.scheduler``), never typed in, so the worked answer
agrees with the PoolTuner the learner explores beside it. The scenario lists below were chosen so
that every combination has a clear answer (no near-ties between the choices); the tests in
tests/test_exercises.py draw many seeds of each.

Runtime behaviour the questions rest on:

* only a G holding a P runs Go code (runtime.execute / schedule in src/runtime/proc.go), so
  CPU-bound work never uses more than GOMAXPROCS cores, whatever the number of workers; a worker
  beyond that waits in a run queue and is served round robin in 10 ms slices (sysmon's retake,
  forcePreemptNS), which stretches every request it shares the Ps with;
* a G parked on the network holds no P (netpollblock), which is why extra workers do help
  network-heavy requests;
* ``time.Sleep(d <= 0)`` returns at once (timeSleep in src/runtime/time.go); ``runtime.Gosched``
  puts the G on the global run queue (goschedImpl); ``time.Sleep(1ns)`` parks on the P's timer
  heap and the fired timer readies the sleeper into ``runnext``, ahead of the other goroutine.
"""

from __future__ import annotations

import math

import numpy as np

from labkit.exercises.seeded import Variant, choice, numeric
from labkit.golab import model_prediction, run_experiment
from labkit.models.pipeline import PipelineParams, Stage, simulate_pipeline
from labkit.models.pool import (
    compare_policies,
    erlang_b,
    erlang_c_probability,
    erlang_c_wait_ms,
    simulate_pool,
)
from labkit.models.pool import min_workers_for_p99 as _min_workers_for_p99
from labkit.models.pool import sweep_workers as _sweep_workers
from labkit.models.pool.queueing import (
    coordinated_omission,
    fcfs_vs_sharing,
    kingman_wait_ms,
    mmc_latency_p99_ms,
)

GOMAXPROCS = 4

# ---- 1. meet a p99 target with the fewest workers ---------------------------------------------


def fewest_workers(rng: np.random.Generator) -> Variant:
    """The smallest static pool that meets a p99 target (labkit.models.pool.min_workers_for_p99)."""
    service_ms = float(rng.choice([20.0, 40.0]))
    cpu_bound = float(rng.choice([0.1, 0.25]))
    arrival_rate = float(rng.choice([100.0, 150.0, 200.0]))
    # Targets from 7 x service_ms: p99 of an exponential service time alone is ln(100) = 4.6 x
    # its mean, and a pool just above the offered load adds about one more mean (the M/M/c p99
    # is 5.8-6.2 x here), so the key is the first stable pool, floor(a) + 1, and the lesson is
    # the stability bound and that floor. A 6 x target sat within 5 % of that p99 at every
    # setting (the M/M/c answer and a 20 s run's then split between two pool sizes, and a
    # learner who reasoned with Erlang C was marked wrong); tighter ones (5.25-5.5 x) fall
    # where a 20 s run's p99 at floor(a) + 1 is a sample, 5.0-6.7 x by seed.
    # Where a 20 s run's p99 at that pool still lands above the target (5 of 200 seeds), the
    # next target is taken, so that the run and the M/M/c closed form name the same pool.
    targets = [m * service_ms for m in (7.0, 8.0, 10.0)]
    first = int(rng.integers(0, len(targets)))
    seed = int(rng.integers(0, 1000))
    kwargs = {
        "arrival_rate": arrival_rate,
        "service_ms": service_ms,
        "cpu_bound": cpu_bound,
        "gomaxprocs": GOMAXPROCS,
        "duration_s": 20.0,
        "seed": seed,
    }
    for target in targets[first:] + targets[:first]:
        workers = _min_workers_for_p99(target, **kwargs)
        if workers == _mmc_fewest(arrival_rate, service_ms, target):
            break
    rows = _sweep_workers([max(1, workers - 1), workers], **kwargs)
    offered = arrival_rate * service_ms / 1000.0
    return numeric(
        f"A handler does {service_ms:g} ms of work per request (exponential), of which "
        f"{cpu_bound:.0%} is CPU and the rest a database wait. {arrival_rate:g} requests/s arrive "
        f"(Poisson) at a static pool on GOMAXPROCS={GOMAXPROCS}. What is the **fewest** workers "
        f"that keeps p99 latency at or below {target:g} ms? (Use the PoolTuner or "
        f"`simulate_pool(..., seed={seed}, duration_s=20)`.)",
        workers,
        f"Each request keeps a worker busy for {service_ms:g} ms on average, so the pool carries "
        f"{arrival_rate:g} x {service_ms / 1000:g} s = {offered:g} busy workers on average (the "
        f"offered load a in Erlangs). A pool needs *more* workers than that: with c = a every "
        f"worker is busy all the time (utilisation 1), the queue has no steady state and grows "
        f"without bound, so the search starts at {math.floor(offered) + 1}. "
        f"Above that, p99 falls as waiting in the channel shrinks: "
        f"{rows[0]['label']} gives p99 {rows[0]['p99_ms']:.1f} ms, {rows[-1]['label']} "
        f"{rows[-1]['p99_ms']:.1f} ms. No pool gets below about ln(100) = 4.6 x {service_ms:g} = "
        f"{math.log(100) * service_ms:.0f} ms: that is the p99 of an exponential service time "
        "itself, with no wait at all, so past the first few workers above the offered load p99 "
        "barely moves. The waits are mostly on the database, whose reply comes over the "
        "network, where a parked goroutine holds no P, so workers beyond GOMAXPROCS do add "
        "throughput here (min_workers_for_p99 tries "
        "each size on the same seeded requests).",
        unit="workers",
        rel_tol=0.0,
        abs_tol=0.4,
        hint="Start just above arrival rate x service time (at exactly that many workers the "
        "queue never drains); then add workers until p99 fits.",
        params={
            "arrival_rate": arrival_rate,
            "service_ms": service_ms,
            "cpu_bound": cpu_bound,
            "target_ms": target,
            "seed": seed,
        },
    )


def _mmc_fewest(arrival_rate: float, service_ms: float, target_ms: float) -> int:
    """The fewest workers whose M/M/c p99 (mmc_latency_p99_ms) meets ``target_ms``."""
    c = math.floor(arrival_rate * service_ms / 1000.0) + 1
    while mmc_latency_p99_ms(arrival_rate, service_ms, c) > target_ms:
        c += 1
    return c


# ---- 2. adaptive parameters for a burst ------------------------------------------------------

WATCHDOG_SETTINGS = (
    (
        "the article's: every 100 ms, 3 samples above 2 x workers, grow by 2",
        {"interval_ms": 100.0, "high_samples": 3, "high_factor": 2.0, "grow_step": 2},
    ),
    (
        "eager: every 50 ms, 1 sample above 1 x workers, grow by 4",
        {"interval_ms": 50.0, "high_samples": 1, "high_factor": 1.0, "grow_step": 4},
    ),
    (
        "sluggish: every 500 ms, 5 samples above 4 x workers, grow by 1",
        {"interval_ms": 500.0, "high_samples": 5, "high_factor": 4.0, "grow_step": 1},
    ),
)


def worst_watchdog(rng: np.random.Generator) -> Variant:
    """Which watchdog setting gives the worst p99 under bursts (CPU-bound vs network-heavy)."""
    cpu_bound = float(rng.choice([1.0, 0.25]))
    burst_rate = float(rng.choice([400.0, 600.0]))
    on_s = float(rng.choice([1.0, 2.0]))
    off_s = float(rng.choice([4.0, 8.0]))
    variants = [
        {"policy": "adaptive", "label": label, "max_workers": 64, **knobs}
        for label, knobs in WATCHDOG_SETTINGS
    ]
    rows = compare_policies(
        variants,
        arrival_rate=200.0,
        burst=(burst_rate, on_s, off_s),
        service_ms=10.0,
        cpu_bound=cpu_bound,
        workers=4,
        gomaxprocs=GOMAXPROCS,
        duration_s=20.0,
        seed=0,
    )
    worst = int(np.argmax([r["p99_ms"] for r in rows]))
    table = "; ".join(
        f"{r['label'].split(':')[0]}: p99 {r['p99_ms']:.0f} ms, mean workers "
        f"{r['mean_workers']:.1f}"
        for r in rows
    )
    why = (
        "The requests are all CPU: four Ps finish at most 400 requests/s whatever the pool size. "
        "The eager watchdog reacts to every backlog by adding goroutines, but those only join "
        "the run queue and share the Ps in 10 ms slices, so every request in the burst is "
        "stretched; a slow watchdog keeps the pool near GOMAXPROCS and serves the backlog in "
        "order."
        if cpu_bound == 1.0
        else "Three quarters of each request is a network wait, during which a goroutine holds "
        "no P: more workers really do serve more requests at once. The sluggish watchdog lets "
        "the backlog build for seconds before adding one worker at a time."
    )
    return choice(
        f"A pool of 4 workers on GOMAXPROCS={GOMAXPROCS} serves 10 ms requests that are "
        f"{cpu_bound:.0%} CPU{'' if cpu_bound == 1.0 else ', the rest a network wait'}, "
        f"at 200/s with bursts of {burst_rate:g}/s for {on_s:g} s, each after {off_s:g} s "
        "of quiet. Its adaptive watchdog (ceiling 64 workers) can be set three ways. "
        "Which setting gives the **worst** p99 latency?",
        [label for label, _ in WATCHDOG_SETTINGS],
        worst,
        f"The model, on the same seeded requests: {table}. {why}",
        hints={
            i: "Does adding workers add capacity for this kind of request?"
            for i in range(len(WATCHDOG_SETTINGS))
            if i != worst
        },
        params={"cpu_bound": cpu_bound, "burst_rate": burst_rate, "on_s": on_s, "off_s": off_s},
    )


# ---- 3. workers beyond GOMAXPROCS ------------------------------------------------------------

BEYOND_OPTIONS = (
    "p99 falls clearly: more workers serve more requests at once",
    "p99 stays about the same (within 10 %)",
    "p99 rises: the extra workers only queue for the same Ps",
)


def beyond_gomaxprocs(rng: np.random.Generator) -> Variant:
    """Predict what tripling a static pool past GOMAXPROCS does to p99."""
    procs = int(rng.choice([2, 4]))
    cpu_bound = float(rng.choice([1.0, 0.1]))
    service = str(rng.choice(["exp", "lognormal"]))
    rate = 0.8 * procs * 1000.0 / 10.0
    rows = _sweep_workers(
        [procs, 3 * procs],
        arrival_rate=rate,
        service_ms=10.0,
        service=service,
        cpu_bound=cpu_bound,
        gomaxprocs=procs,
        duration_s=20.0,
        seed=1,
    )
    before, after = rows[0]["p99_ms"], rows[1]["p99_ms"]
    ratio = after / before
    right = 0 if ratio < 0.9 else (2 if ratio > 1.1 else 1)
    why = (
        "Every request is CPU work, and only a goroutine holding a P runs: with more workers "
        "than Ps the extra ones wait in the run queue and are served round robin in 10 ms "
        "slices (sysmon's retake, forcePreemptNS), so a request that would have run in one go "
        "is interleaved with others and finishes later. The channel's queue just moved into "
        "the scheduler's run queue."
        if cpu_bound == 1.0
        else "90 % of each request is a network wait, and a goroutine parked in the netpoller "
        "holds no P: with more workers more requests wait on the network at once, so requests "
        "spend less time in the channel."
    )
    return choice(
        f"A static pool of {procs} workers on GOMAXPROCS={procs} serves {rate:g} requests/s "
        f"of 10 ms ({service}) work, {cpu_bound:.0%} of it CPU (80 % utilisation of the "
        f"workers). You raise the pool to {3 * procs} workers. What happens to p99 latency?",
        list(BEYOND_OPTIONS),
        right,
        f"The model (same seeded requests): {procs} workers p99 {before:.1f} ms, "
        f"{3 * procs} workers p99 {after:.1f} ms (x{ratio:.2f}). {why}",
        hints={
            i: "Where does a worker wait when all Ps are busy?"
            if cpu_bound == 1.0
            else "Does a request waiting on the network hold a P?"
            for i in range(3)
            if i != right
        },
        params={"procs": procs, "cpu_bound": cpu_bound, "service": service, "rate": rate},
    )


# ---- 4. which yield gives the other goroutine a turn -------------------------------------------

YIELD_CALLS = {
    "none": "no yield at all",
    "sleep0": "`time.Sleep(0)`",
    "gosched": "`runtime.Gosched()`",
    "sleep1ns": "`time.Sleep(time.Nanosecond)`",
}


#: "(Almost) never": the other goroutine got at most this share of the loop's iterations as
#: turns (real Go's Sleep(1ns) loop gives it one or two in 100,000).
ALMOST_NEVER = 0.01


def yield_turns(rng: np.random.Generator) -> Variant:
    """Which yield lets the other goroutine run, and which do not (labkit.golab's yield model)."""
    pred = {mode: model_prediction("yield", mode=mode) for mode in YIELD_CALLS}
    turns = {m: int(p["other_turns"]) for m, p in pred.items()}
    cost = {m: float(p["ns_per_iter"]) for m, p in pred.items()}
    iters = int(pred["gosched"]["iters"])
    kind = int(rng.integers(3))
    yielding = [m for m in YIELD_CALLS if m != "none"]
    never = [m for m in yielding if turns[m] <= ALMOST_NEVER * iters]
    if kind == 0:
        asked = "gives the other goroutine a turn on (nearly) every iteration"
        answer = max(YIELD_CALLS, key=turns.get)
    elif kind == 1:
        asked = "is a plain function call that returns at once, never letting the other run"
        answer = min(never, key=cost.get)
    else:
        asked = "parks the loop goroutine on each iteration, yet the other goroutine still (almost) never runs"
        answer = max(never, key=cost.get)
    order = rng.permutation(len(YIELD_CALLS))
    modes = [list(YIELD_CALLS)[i] for i in order]
    numbers = "; ".join(
        f"{YIELD_CALLS[m]}: {cost[m]:.1f} ns/iter, other goroutine ran {turns[m]} times"
        for m in YIELD_CALLS
    )
    real = run_experiment("yield", source="recorded", mode="sleep1ns")
    real_text = (
        f"the course's recorded real-Go run ({real['recorded_on']}, {real['recorded_at'][:10]}): "
        f"{real['other_turns']:,} turn(s) in {real['iters']:,} iterations"
    )
    return choice(
        f"GOMAXPROCS=1. One goroutine runs a loop of {iters:,} iterations and calls something in "
        "each; another goroutine, already runnable, counts how often it gets to run. Which "
        f"call **{asked}**?",
        [YIELD_CALLS[m] for m in modes],
        modes.index(answer),
        f"The scheduler model ({iters:,} iterations): {numbers}. time.Sleep(d) with d <= 0 "
        "returns at once (timeSleep in src/runtime/time.go: `if ns <= 0 { return }`): no park, "
        "no yield, just a call. runtime.Gosched puts the goroutine on the *global* run queue "
        "(goschedImpl), so the other goroutine runs before it comes back. time.Sleep(1ns) parks "
        "on the P's timer heap; when the timer fires at the next schedule the sleeper is readied "
        "into runnext and runs *before* the other goroutine, which therefore almost never gets a "
        f"turn ({real_text}). The article's table has Sleep(0) parking and costing 3.2x "
        "Gosched: both wrong.",
        hints={
            modes.index(m): "Does this call ever put the goroutine behind the other one?"
            for m in modes
            if m != answer
        },
        params={"kind": kind, "modes": tuple(modes)},
    )


# ---- 5. Erlang C by hand ---------------------------------------------------------------------


def erlang_c_by_hand(rng: np.random.Generator) -> Variant:
    """The M/M/c mean wait of a static pool (labkit.models.pool.erlang_c_wait_ms)."""
    c = int(rng.choice([2, 3, 4]))
    service_ms = float(rng.choice([5.0, 10.0, 20.0]))
    rho = float(rng.choice([0.5, 0.6, 0.7, 0.8, 0.9]))
    rate = rho * c * 1000.0 / service_ms
    a = rate * service_ms / 1000.0
    p_wait = erlang_c_probability(a, c)
    wait = erlang_c_wait_ms(rate, service_ms, c)
    b_steps = [f"B({k}) = {erlang_b(a, k):.4f}" for k in range(1, c + 1)]
    return numeric(
        f"A static pool of {c} workers (on at least {c} Ps) serves Poisson arrivals at "
        f"{rate:g} requests/s with exponential service of mean {service_ms:g} ms: an M/M/{c} "
        "queue. What is the mean time a request waits in the channel before a worker takes it? "
        "Use Erlang's C formula.",
        wait,
        f"Offered load a = {rate:g}/s x {service_ms / 1000:g} s = {a:g} Erlangs (utilisation "
        f"{rho:.0%}). Erlang B by recursion, B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)): "
        f"{', '.join(b_steps)}. Then C = c B / (c - a (1 - B)) = {p_wait:.4f}, the chance a "
        f"request waits at all. Mean wait W = C x service / (c - a) = {p_wait:.4f} x "
        f"{service_ms:g} / ({c} - {a:g}) = {wait:.2f} ms. The static pool in labkit.models.pool "
        "matches this in long runs (tests/test_pool_queueing.py).",
        unit="ms",
        rel_tol=0.03,
        hint="a = arrival rate x service time; C(c, a) is the chance to wait; W = C s / (c - a).",
        params={"c": c, "service_ms": service_ms, "rho": rho, "rate": rate},
    )


# ---- 6. a pipeline's throughput --------------------------------------------------------------


def pipeline_throughput(rng: np.random.Generator) -> Variant:
    """Long-run throughput of a channel pipeline: its slowest stage, or the Ps."""
    draw_workers = int(rng.choice([1, 2, 3, 4, 6]))
    draw_ms = float(rng.choice([3.0, 4.0, 6.0]))
    procs = int(rng.choice([2, 4]))
    stages = (
        Stage("decode", 1, cpu_ms=1.0),
        Stage("draw", draw_workers, cpu_ms=draw_ms),
        Stage("upload", 1, cpu_ms=0.5, io_ms=1.0),
    )
    params = PipelineParams(stages=stages, buffer=4, items=300, service="const", gomaxprocs=procs)
    bound = params.capacity_per_s()
    run = simulate_pipeline(params)
    caps = ", ".join(f"{s.name} {s.capacity_per_s:.0f}/s" for s in stages)
    cpu_ms = sum(s.cpu_ms for s in stages)
    return numeric(
        "A frame pipeline: decode (1 worker, 1 ms CPU per item) -> draw "
        f"({draw_workers} worker{'s' if draw_workers > 1 else ''}, {draw_ms:g} ms CPU) -> upload "
        "(1 worker, 0.5 ms CPU + 1 ms waiting for the device), joined by channels of capacity 4, "
        f"GOMAXPROCS={procs}, constant work, and a producer that sends as fast as it can. How "
        "many items per second reach the render loop in the long run?",
        bound,
        f"Each stage finishes at most workers / time per item: {caps}. All CPU work shares "
        f"{procs} Ps: at most {procs} / {cpu_ms:g} ms = {params.cpu_limit_per_s:.0f} items/s "
        "(the device wait needs no P). The pipeline runs at the smallest of these: "
        f"{bound:.0f}/s ({params.bottleneck()}); the scheduler model delivered "
        f"{run.throughput_per_s:.0f}/s, a few per cent less: the bound leaves out every moment "
        "a ready worker waits for a P or to be woken. Any faster stage only fills its output channel and "
        "then blocks in `ch <- v` (back-pressure).",
        unit="items/s",
        rel_tol=0.02,
        hint="Compute workers x 1000 / ms for each stage, and GOMAXPROCS x 1000 / total CPU ms.",
        params={"draw_workers": draw_workers, "draw_ms": draw_ms, "procs": procs},
    )


# ---- 7. the hockey stick -----------------------------------------------------------------------


def _hockey_figure(service_ms: float, rho: float, model_wait_ms: float):
    """A prediction's figure: M/M/1's wait against utilisation, with the model's run marked."""

    def figure():
        import bqplot as bq
        import ipywidgets as widgets

        from labkit.widgets import Panel
        from labkit.widgets._style import OKABE_ITO, legend_html

        grid = np.linspace(0.0, 0.96, 97)
        curve = [erlang_c_wait_ms(u * 1000.0 / service_ms, service_ms, 1) for u in grid]
        xs, ys = bq.LinearScale(min=0.0, max=1.0), bq.LinearScale(min=0.0)
        blue, orange = OKABE_ITO[0], OKABE_ITO[1]
        scales = {"x": xs, "y": ys}
        fig = bq.Figure(
            marks=[
                bq.Lines(x=grid, y=curve, colors=[blue], line_style="dashed", scales=scales),
                bq.Scatter(x=[rho], y=[model_wait_ms], colors=[orange], scales=scales),
            ],
            axes=[
                bq.Axis(scale=xs, label="utilisation rho"),
                bq.Axis(scale=ys, orientation="vertical", label="mean wait (ms)"),
            ],
            title=f"One worker, {service_ms:g} ms exponential work",
            layout=widgets.Layout(width="100%", height="260px"),
        )
        legend = widgets.HTML(
            legend_html([("rho / (1 - rho) x s", blue), ("the pool model, 2000 s", orange)])
        )
        summary = (
            f"figure: M/M/1 wait against utilisation for {service_ms:g} ms work; the pool "
            f"model at {rho:.0%}: {model_wait_ms:.1f} ms"
        )
        return Panel([fig, legend], summary=summary)

    return figure


def hockey_stick_wait(rng: np.random.Generator) -> Variant:
    """A single worker's mean wait at a high utilisation (M/M/1: rho / (1 - rho) x s)."""
    service_ms = float(rng.choice([5.0, 10.0, 20.0]))
    rho = float(rng.choice([0.8, 0.9, 0.95]))
    rate = rho * 1000.0 / service_ms
    wait = erlang_c_wait_ms(rate, service_ms, 1)
    model = simulate_pool(
        arrival_rate=rate, service_ms=service_ms, workers=1, gomaxprocs=1, duration_s=2000.0
    )
    return numeric(
        f"One worker serves Poisson arrivals with exponential work of mean {service_ms:g} ms (an "
        f"M/M/1 queue). At 50 % utilisation a request waits {service_ms:g} ms on average before "
        f"the worker takes it. The load rises to {rho:.0%} utilisation ({rate:g} requests/s). "
        "What is the mean wait now?",
        wait,
        f"For M/M/1 the mean wait is rho / (1 - rho) x s (Erlang C with c = 1): at 50 % that is "
        f"1 x {service_ms:g} ms, at {rho:.0%} it is {rho:g} / {1 - rho:.2g} x {service_ms:g} = "
        f"{wait:.0f} ms. The load rose by {rho / 0.5:.2g}x, the wait by {wait / service_ms:.0f}x: "
        "the hockey stick. 1 / (1 - rho) doubles from 80 % to 90 % and again to 95 %. The pool "
        f"model at {rate:g}/s for 2000 s: {model.mean_wait_ms:.1f} ms.",
        unit="ms",
        rel_tol=0.03,
        hint="The wait is not proportional to the load: it grows like rho / (1 - rho).",
        params={"service_ms": service_ms, "rho": rho},
        figure=_hockey_figure(service_ms, rho, model.mean_wait_ms),
        predict=True,
    )


# ---- 8. Kingman: variability costs wait --------------------------------------------------------

#: Service kinds of the pool model and the squared coefficient of variation of each (variance /
#: mean^2); the lognormal's sigma = sqrt(ln 4) makes it exp(sigma^2) - 1 = 3.
KINGMAN_SERVICES = {
    "const": ("constant work (every request the same)", 0.0, {}),
    "exp": ("exponentially distributed work", 1.0, {}),
    "lognormal": ("long-tailed (lognormal) work", 3.0, {"service_sigma": math.sqrt(math.log(4.0))}),
}


def kingman_variability(rng: np.random.Generator) -> Variant:
    """Kingman's G/G/1 wait, rho / (1 - rho) x (ca^2 + cs^2) / 2 x s, for a given variability."""
    service = str(rng.choice(list(KINGMAN_SERVICES)))
    bursty = bool(rng.integers(2))
    rho = float(rng.choice([0.6, 0.75, 0.8, 0.9]))
    service_ms = float(rng.choice([4.0, 5.0, 10.0]))
    name, cs2, extra = KINGMAN_SERVICES[service]
    ca2 = 2.0 if bursty else 1.0
    wait = kingman_wait_ms(rho, service_ms, ca2, cs2)
    arrivals = (
        "bursty arrivals whose gaps have a squared coefficient of variation ca² = 2"
        if bursty
        else "Poisson arrivals (ca² = 1)"
    )
    check = ""
    if not bursty:  # Poisson arrivals: Kingman is exact (Pollaczek-Khinchine); the model agrees
        r = simulate_pool(
            arrival_rate=rho * 1000.0 / service_ms,
            service_ms=service_ms,
            service=service,
            workers=1,
            gomaxprocs=1,
            duration_s=1000.0,
            **extra,
        )
        check = (
            f" With Poisson arrivals the formula is exact (Pollaczek-Khinchine); the pool model, "
            f"1000 s: {r.mean_wait_ms:.1f} ms."
        )
    return numeric(
        f"One worker at {rho:.0%} utilisation, {arrivals}, and {name} of mean "
        f"{service_ms:g} ms (squared coefficient of variation cs² = {cs2:g}). Use Kingman's "
        "formula: what is the mean wait before the worker takes a request?",
        wait,
        f"Kingman (1961): W = rho / (1 - rho) x (ca² + cs²) / 2 x s = {rho:g} / {1 - rho:.2g} x "
        f"({ca2:g} + {cs2:g}) / 2 x {service_ms:g} = {wait:.2f} ms. The middle factor is the "
        "variability: 1 for M/M/1, 0.5 for constant work, more for bursts or long-tailed work. "
        f"At the same load, twice the variability is twice the wait, which is why a jittered or "
        f"bursty workload needs more workers for the same latency.{check}",
        unit="ms",
        rel_tol=0.03,
        hint="Three factors: rho / (1 - rho), the mean of the two squared coefficients of "
        "variation (ca² + cs²) / 2, and the service time.",
        params={"rho": rho, "service_ms": service_ms, "ca2": ca2, "cs2": cs2},
    )


# ---- 9. processor sharing against FCFS -----------------------------------------------------------


def sharing_vs_fcfs(rng: np.random.Generator) -> Variant:
    """How much later, on average, n CPU-bound requests finish when shared instead of queued."""
    procs = int(rng.choice([2, 3, 4]))
    rounds = int(rng.choice([2, 3, 4]))
    job_ms = float(rng.choice([5.0, 10.0, 20.0]))
    jobs = procs * rounds
    rows = {r["label"]: r for r in fcfs_vs_sharing(jobs, job_ms, procs)}
    fcfs, shared, go = rows["FCFS"], rows["processor sharing"], rows["Go, 10 ms slices"]
    # The key is the closed form, rounds x s - s (rounds + 1) / 2 = s (rounds - 1) / 2; the pool
    # model's 1 us slices finish the shared requests a hair early (9.999 ms for 10).
    extra = job_ms * (rounds - 1) / 2
    simulated = shared["mean_ms"] - fcfs["mean_ms"]
    return numeric(
        f"{jobs} requests arrive together, each {job_ms:g} ms of pure CPU work, on "
        f"GOMAXPROCS={procs}. Pool A has {procs} workers, which take the requests from the "
        f"channel in order. Pool B has {jobs} workers, one per request, and suppose the Ps were "
        "shared perfectly equally among them (processor sharing). How many ms **higher** is "
        "pool B's mean latency than pool A's?",
        extra,
        f"Both pools do {jobs} x {job_ms:g} = {jobs * job_ms:g} ms of CPU on {procs} Ps, so both "
        f"finish the last request at {fcfs['max_ms']:.0f} ms: more workers add no CPU. Pool A "
        f"finishes {procs} at {job_ms:g} ms, {procs} more at {2 * job_ms:g} ms, ...: mean "
        f"{job_ms:g} x ({rounds} + 1) / 2 = {fcfs['mean_ms']:.1f} ms. Pool B gives each request "
        f"{procs}/{jobs} of a P, so all finish together at {rounds} x {job_ms:g} = "
        f"{rounds * job_ms:g} ms. Difference: {job_ms:g} x ({rounds} - 1) / 2 = {extra:g} ms (the "
        f"pool model, sharing in 1 us slices, gives {simulated:.2f}). Go shares in 10 ms "
        f"slices, not finely: its mean is {go['mean_ms']:.1f} ms here "
        + (
            "(the requests fit in one slice, so Go's round robin is FCFS)."
            if job_ms <= 10.0
            else "(each request is preempted once or more, so they interleave)."
        ),
        unit="ms",
        rel_tol=0.02,
        hint="Both pools finish the last request at the same time; compare when the *others* "
        "finish.",
        params={"procs": procs, "jobs": jobs, "job_ms": job_ms},
    )


# ---- 10. coordinated omission --------------------------------------------------------------------

OMISSION_RUNS = ((1000, 10.0), (2000, 5.0), (2000, 10.0), (4000, 5.0))  # (requests, interval_ms)
#: Short beside every interval, so the backlog after a stall drains fast and the hand estimate,
#: which leaves the service times out, stays within 3 % of the simulated p99.
OMISSION_SERVICE_MS = 0.2


def omission_p99(rng: np.random.Generator) -> Variant:
    """The p99 an open-loop measurement reports across a stall (what a closed loop hides)."""
    requests, interval_ms = OMISSION_RUNS[int(rng.integers(len(OMISSION_RUNS)))]
    stall_ms = float(rng.choice([500.0, 1000.0]))
    duration_ms = requests * interval_ms
    co = coordinated_omission(
        interval_ms=interval_ms,
        service_ms=OMISSION_SERVICE_MS,
        stall_ms=stall_ms,
        stall_at_ms=duration_ms / 4,
        duration_ms=duration_ms,
    )
    hand = co["hand_p99_ms"]
    return numeric(
        f"A service answers in {OMISSION_SERVICE_MS:g} ms, but once in a "
        f"{duration_ms / 1000:g} s test it stalls for {stall_ms:g} ms. A closed-loop benchmark "
        f"(send, wait for the reply, send the next every {interval_ms:g} ms) reports p99 = "
        f"{co['closed_p99_ms']:.1f} ms. You measure instead with an open-loop generator: a "
        f"request every {interval_ms:g} ms on schedule, "
        f"{requests} in all, latency counted from the scheduled send time. About what p99 does "
        "it report?",
        co["open_p99_ms"],
        f"During the stall the closed loop sends nothing: it records one sample of "
        f"{co['closed_max_ms']:.0f} ms among {co['closed_ms'].size} and its p99 stays at "
        f"{co['closed_p99_ms']:.1f} ms. On schedule, {stall_ms / interval_ms:.0f} requests fall "
        f"due during the stall; the first waits the whole {stall_ms:g} ms, each later one "
        f"{interval_ms:g} ms less. The slowest 1 % is {requests // 100} requests, so p99 is about "
        f"{stall_ms:g} - {requests // 100} x {interval_ms:g} = {hand:.0f} ms; the simulation, "
        f"which adds the {OMISSION_SERVICE_MS:g} ms services of the backlog, gives "
        f"{co['open_p99_ms']:.0f} ms. The "
        "closed loop coordinated with the stall and omitted the requests users would have sent.",
        unit="ms",
        rel_tol=0.03,
        also=[(0.98 * hand, 1.02 * hand, "the hand estimate, without the service times")],
        hint="Count how many scheduled requests fall due during the stall, and how long each "
        "waits; the slowest 1 % of all requests sets p99.",
        params={"requests": requests, "interval_ms": interval_ms, "stall_ms": stall_ms},
    )
