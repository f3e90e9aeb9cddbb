"""Each exercise rejects the answers a learner gets wrong, for seeds 0-19.

For every exercise of chapter 0 and labs 1-4, ``MISTAKES`` names the common wrong answers: the
mistake the question is about (forgetting sysmon's thread, 128 instead of 129 per overflow, the
start time instead of the finish time, a frame in decimal MB, the offered load as the worker
count, ignoring runnext, ...). Each is a function of the variant's ``params`` that reasons the
mistaken way and returns the answer it leads to: a number (in the question's unit), a text with
a unit, or a choice's text. It returns None only where the mistake changes nothing for those
parameters (a learner who forgets to set 4 producers when the question asks for 4). The tests
check that Check rejects every such answer for seeds 0-19, and that every mistake is tested in
most seeds.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable
from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from labkit.exercises.seeded import Exercise, Variant
from labkit.models.gcpacer import heap_goal_bytes

MIB = 1 << 20
SEEDS = range(20)
MODULES = ("start", "lab01", "lab02", "lab03", "lab04")


@cache
def variant(name: str, seed: int) -> Variant:
    return exercise(name, seed).variant


@cache
def exercise(name: str, seed: int) -> Exercise:
    module, fn = name.split(".")
    return Exercise(getattr(importlib.import_module(f"labkit.exercises.{module}"), fn), seed=seed)


# ---- start -----------------------------------------------------------------------------------


def frame_in_decimal_mb(p):
    """Bytes / 1,000,000: MB typed where the question asks for MiB."""
    return p["width"] * p["height"] * 4 / 1e6


def three_bytes_per_pixel(p):
    """RGB without the alpha byte."""
    return p["width"] * p["height"] * 3 / MIB


def one_byte_per_pixel(p):
    return p["width"] * p["height"] / MIB


def frame_in_kib(p):
    """The right size, but in KiB, typed as MiB."""
    return p["width"] * p["height"] * 4 / 1024


def per_second_not_per_frame(p):
    return p["width"] * p["height"] * 4 * p["fps"] / MIB


GOGC_FACTORS = {
    0.25: "It falls to a quarter",
    0.5: "It halves",
    1.0: "It stays the same",
    2.0: "It doubles",
    4.0: "It quadruples",
}


def gc_rate_grows_with_gogc(p):
    """Thinks a higher GOGC makes the GC run more often."""
    return GOGC_FACTORS[p["new_gogc"] / p["old_gogc"]]


def gogc_changes_nothing(p):
    return GOGC_FACTORS[1.0]


# ---- lab01 -----------------------------------------------------------------------------------


def _frame_mib(p):
    return p["width"] * p["height"] * 4 / MIB


def _runway_mib(p):
    return p["live_mib"] * p["gogc"] / 100


def gc_rate_frame_in_decimal_mb(p):
    """The estimate with the frame size in MB used as MiB (4.86 % high)."""
    return p["fps"] * p["width"] * p["height"] * 4 / 1e6 / _runway_mib(p)


def gc_rate_runway_is_the_goal(p):
    """Divides by the whole goal instead of goal - live."""
    return p["fps"] * _frame_mib(p) / (p["live_mib"] + _runway_mib(p))


def gc_rate_ignores_gogc(p):
    """Takes the runway to be the live heap whatever GOGC is."""
    if p["gogc"] == 100:
        return None
    return p["fps"] * _frame_mib(p) / p["live_mib"]


def gc_rate_three_bytes_per_pixel(p):
    return p["fps"] * p["width"] * p["height"] * 3 / MIB / _runway_mib(p)


def gc_rate_per_frame(p):
    """Forgets the frame rate: one frame's allocation per runway."""
    return _frame_mib(p) / _runway_mib(p)


def _gogc_goal_mib(p):
    return math.inf if p["gogc"] == "off" else p["live_mib"] * (1 + p["gogc"] / 100)


def _limit_goal_mib(p, non_heap=None):
    room = p["limit_mib"] - (p["non_heap_mib"] if non_heap is None else non_heap)
    return max(p["live_mib"], room - max(room * 0.03, 1.0))


def goal_without_headroom(p):
    """Takes the limit less the non-heap memory as the goal, without memoryLimitHeapGoal's 3 %."""
    if _gogc_goal_mib(p) <= _limit_goal_mib(p):
        return None  # the GOGC goal wins; the limit's headroom does not matter
    return min(_gogc_goal_mib(p), p["limit_mib"] - p["non_heap_mib"])


def goal_ignores_the_non_heap_memory(p):
    """Takes 3 % off the whole limit, as if the runtime mapped nothing but heap."""
    if _gogc_goal_mib(p) <= _limit_goal_mib(p):
        return None  # the GOGC goal wins; the limit's goal does not matter
    return min(_gogc_goal_mib(p), _limit_goal_mib(p, non_heap=0.0))


def goal_ignores_the_limit(p):
    if _gogc_goal_mib(p) <= _limit_goal_mib(p):
        return None
    return None if math.isinf(_gogc_goal_mib(p)) else _gogc_goal_mib(p)


def higher_goal_wins(p):
    higher = max(_gogc_goal_mib(p), _limit_goal_mib(p))
    return None if math.isinf(higher) else higher


def goal_in_decimal_mb(p):
    """The right goal, converted to MB and typed as MiB."""
    return min(_gogc_goal_mib(p), _limit_goal_mib(p)) * MIB / 1e6


def _jank(p, **changes):
    from labkit.models.renderloop import simulate_frames

    settings = {
        "gomaxprocs": p["gomaxprocs"],
        "fps": p["fps"],
        "live_heap_mb": p["live_mib"],
        "producers": p["producers"],
        "producer_cpu_fraction": p["producer_cpu_fraction"],
        "seed": p["seed"],
    }
    return 100 * simulate_frames(**{**settings, **changes}).jank_fraction


def jank_with_gomaxprocs_4(p):
    """Leaves the frame lab at its default GOMAXPROCS=4: no stall to read."""
    return _jank(p, gomaxprocs=4)


def jank_with_the_default_live_heap(p):
    return None if p["live_mib"] == 64 else _jank(p, live_heap_mb=64)


def jank_with_the_default_producers(p):
    return None if p["producers"] == 4 else _jank(p, producers=4)


def jank_as_a_fraction(p):
    """Types the share as a fraction (0.0117) where the question asks for %."""
    return _jank(p) / 100


def gc_cpu_share_read_as_jank(p):
    from labkit.models.renderloop import simulate_frames

    r = simulate_frames(
        gomaxprocs=p["gomaxprocs"],
        fps=p["fps"],
        live_heap_mb=p["live_mib"],
        producers=p["producers"],
        producer_cpu_fraction=p["producer_cpu_fraction"],
        seed=p["seed"],
    )
    return 100 * r.gc_cpu_fraction


def _smallest_meeting(p, budget, **changes):
    from labkit.models.renderloop import simulate_frames

    for g in p["gogcs"]:
        r = simulate_frames(
            gomaxprocs=changes.get("gomaxprocs", p["gomaxprocs"]),
            fps=p["fps"],
            live_heap_mb=p["live_mib"],
            producers=p["producers"],
            producer_cpu_fraction=p["producer_cpu_fraction"],
            gogc=g,
            seed=p["seed"],
            seconds=10,
        )
        if 100 * r.jank_fraction <= budget:
            return f"GOGC={g}"
    return "none of these"


def gogc_budget_at_gomaxprocs_4(p):
    """Tunes GOGC with the frame lab left at GOMAXPROCS=4."""
    return _smallest_meeting(p, p["budget_pct"], gomaxprocs=4)


def gogc_budget_read_as_a_fraction(p):
    """Reads a 1 % budget as 0.01 %."""
    return _smallest_meeting(p, p["budget_pct"] / 100)


POOL_OR_GOGC = (
    "Raising GOGC changes nothing here: the memory limit already sets the heap goal",
    "Raising GOGC helps, but sync.Pool helps more",
    "Raising GOGC helps more than sync.Pool",
)


def gogc_helps_more_than_the_pool(p):
    """Ignores that the limit caps the goal and that pooling removes the allocation."""
    return POOL_OR_GOGC[2]


def the_limit_always_sets_the_goal(p):
    """Thinks any GOMEMLIMIT caps the goal, even one above the GOGC=100 goal."""
    if 0.97 * (p["limit_mib"] - p["non_heap_mib"]) <= 2 * p["live_mib"]:
        return None  # here it does
    return POOL_OR_GOGC[0]


def _second_p_band(p) -> int:
    from labkit.exercises.lab01 import STALL, second_p_band
    from labkit.models.renderloop import simulate_frames

    two = simulate_frames(
        **{**STALL, "gomaxprocs": 2},
        live_heap_mb=p["live_mib"],
        producers=p["producers"],
        seed=p["seed"],
    )
    return second_p_band(p["jank_one_p"], 100 * two.jank_fraction)


def a_second_p_changes_nothing(p):
    """Thinks the stall is the GC's work, which a second P does not shrink."""
    from labkit.exercises.lab01 import SECOND_P_BANDS

    return None if _second_p_band(p) == 2 else SECOND_P_BANDS[2]


def a_second_p_removes_every_late_frame(p):
    """Thinks every janky frame waited for the mark worker (some waited for producers)."""
    from labkit.exercises.lab01 import SECOND_P_BANDS

    return None if _second_p_band(p) == 0 else SECOND_P_BANDS[0]


def torn_overlaps_added_up(p):
    """rate x window, without 1 - e^-x: a frame two draws overlap is counted twice."""
    return 100 * p["producers"] * p["draws_per_s"] * (p["frame_ms"] / 1000 + p["draw_us"] / 1e6)


def torn_by_one_producer(p):
    """Counts one producer's draws, not all of them."""
    from labkit.exercises.lab01 import torn_by_hand

    return torn_by_hand(1, p["frame_ms"], p["draws_per_s"], p["draw_us"])


def torn_never_go_is_memory_safe(p):
    """Thinks Go's memory safety keeps a racing writer out of a frame."""
    return 0.0


def pool_never_drops_a_buffer(p):
    """Forgets that a GC cycle clears sync.Pool (clearpools)."""
    from labkit.exercises.lab01 import VICTIM_CHOICES

    return None if p["allocations_old"] == 1 else VICTIM_CHOICES[0]


def pool_drops_on_every_cycle_still(p):
    """Forgets the victim cache of Go 1.13."""
    from labkit.exercises.lab01 import VICTIM_CHOICES

    return None if p["allocations_new"] > 1 else VICTIM_CHOICES[2]


def pool_allocates_per_frame(p):
    """Thinks a pool without a victim cache is no pool at all."""
    from labkit.exercises.lab01 import VICTIM_CHOICES

    return VICTIM_CHOICES[3]


# ---- lab02 -----------------------------------------------------------------------------------


def _finish(p):
    from labkit.exercises.lab02 import behind_loop_program
    from labkit.models.scheduler import simulate

    return simulate(
        behind_loop_program(p["loop_ms"], p["work_ms"]),
        gomaxprocs=1,
        async_preempt=p["async_preempt"],
        until_ms=20 * p["loop_ms"],
    )


def start_time_by_the_rule(p):
    """When req starts: at forcePreemptNS (Go >= 1.14) or when the loop ends (Go <= 1.13)."""
    return 10.0 if p["async_preempt"] else p["loop_ms"]


def start_time_on_the_timeline(p):
    """When req's box starts in the model's timeline."""
    res = _finish(p)
    return float(res.segments[res.segments["g"] == "req"]["start_ms"][0])


def req_runs_first(p):
    """Ignores runnext: req was started first, so it runs first."""
    return p["work_ms"]


def the_other_go_versions_rule(p):
    return p["loop_ms"] + p["work_ms"] if p["async_preempt"] else 10.0 + p["work_ms"]


def finish_time_in_seconds(p):
    """The right number with the wrong unit."""
    return f"{_finish(p).finished_ms['req']:.2f} s"


def finish_time_as_a_size(p):
    return f"{_finish(p).finished_ms['req']:.2f} GiB"


def _order(names):
    return ", ".join(f"g{i}" for i in names)


def spawn_order_fifo(p):
    """Ignores runnext: the goroutines run in the order they were started."""
    return _order(range(1, p["n"] + 1))


def spawn_order_lifo(p):
    """Thinks every new goroutine jumps the queue (a stack)."""
    return _order(range(p["n"], 0, -1))


def gomaxprocs_rounded_down(p):
    """Divides the work by the target and rounds down."""
    exact = p["requests"] * p["work_ms"] / p["target_ms"]
    return None if exact == int(exact) else math.floor(exact)


def gomaxprocs_plus_one_for_sysmon(p):
    """Thinks sysmon needs a P of its own."""
    return math.ceil(p["requests"] * p["work_ms"] / p["target_ms"]) + 1


def _spot(key):
    from labkit.scenarios.blindspots import PRESETS

    return f"{key} {PRESETS[key].title}"


def thread_count_means_syscalls(p):
    """More threads than Ps + sysmon read as blocking system calls, with no syscall hand-off."""
    if p["threads_peak"] > p["gomaxprocs"] + 1 and p["handoffs"] == 0:
        return _spot("2.2")
    return None


def any_tick_lateness_means_timers(p):
    """A late render tick read as timers starved by hogs, in a run without any preemption."""
    if p["tick_p99_ms"] > 0 and p["preemptions"] == 0:
        return _spot("2.5")
    return None


def one_p_without_preemption_means_a_loop(p):
    """A long p99 on one P without preemptions read as a loop nobody can stop."""
    if p["gomaxprocs"] == 1 and p["preemptions"] == 0:
        return _spot("2.3")
    return None


def threads_without_sysmon(p):
    return p["syscalls"] + 1


def threads_counting_network_waits(p):
    """Thinks a goroutine waiting on the network holds a thread too."""
    return p["syscalls"] + p["network"] + 2


def threads_syscalls_only(p):
    return p["syscalls"]


def threads_gomaxprocs_plus_sysmon(p):
    """Thinks the runtime never runs more threads than Ps (+ sysmon)."""
    return p["gomaxprocs"] + 1


def threads_counted_as_goroutines(p):
    """The right number of the wrong thing."""
    return f"{p['syscalls'] + 2} goroutines"


YIELD_OPTIONS = (
    "Yes, at once: it finishes within about 5 ms",
    "Yes, but only after a 10-20 ms time slice, when sysmon preempts the loop",
    "No: it finishes only after the loop ends",
)


def sleep_yields_at_once(p):
    """The article's belief: Sleep(0) / Sleep(1ns) hand the P over at once."""
    return YIELD_OPTIONS[0] if p["mode"] in ("sleep0", "sleep1ns") else None


def calls_cannot_be_preempted_before_1_14(p):
    """Forgets that a call's stack check honours sysmon's request without async preemption."""
    if p["mode"] in ("sleep0", "sleep1ns") and not p["async_preempt"]:
        return YIELD_OPTIONS[2]
    return None


def a_loop_is_preempted_on_any_version(p):
    """Forgets that Go <= 1.13 cannot stop a loop without calls."""
    return YIELD_OPTIONS[1] if p["mode"] == "none" and not p["async_preempt"] else None


def gosched_waits_for_sysmon(p):
    return YIELD_OPTIONS[1] if p["mode"] == "gosched" else None


def _overflows(n, first=258, every=129):
    return 0 if n < first else 1 + (n - first) // every


def global_128_per_overflow(p):
    """Forgets the pushed goroutine that joins each batch of 128."""
    k = _overflows(p["n"])
    return 128 * k if k else None


def global_overflow_every_128_spawns(p):
    """The old worked answer's 'every 128 more spawns'."""
    wrong, right = _overflows(p["n"], every=128), _overflows(p["n"])
    return 129 * wrong if wrong != right else None


def global_takes_everything_past_the_local_queue(p):
    return p["n"] - 257 if p["n"] > 257 else None


def _twin_case(p, twin, **settings):
    """Whether the variant asks about ``twin`` with ``settings`` (stall_in_real_trace)."""
    return p["twin"] == twin and all(p.get(k) == v for k, v in settings.items())


def timers_fire_on_time(p):
    """Expects the render loop's timer to fire on time beside two hogs (ignores that a busy P
    runs its timers only when it schedules)."""
    return 0 if _twin_case(p, "timer_stall", hogs=2) else None


def one_hog_delays_the_timers_too(p):
    """Expects one hog to make the frames as late as two (ignores the idle P's thread)."""
    return 10 if _twin_case(p, "timer_stall", hogs=1) else None


def sysmon_preempts_without_the_signal(p):
    """Expects a preemption every 10-20 ms also with asyncpreemptoff=1."""
    return 15 if _twin_case(p, "long_loop", async_preempt=0) else None


def no_preemption_inside_a_loop(p):
    """Expects a loop without calls never to be preempted, signal or not."""
    return 0 if _twin_case(p, "long_loop", async_preempt=1) else None


def threads_are_gomaxprocs(p):
    """Counts the Ps' threads and sysmon only, forgetting that each blocking call keeps one."""
    return 3 if _twin_case(p, "blocking_calls", syscalls=1) else None


def network_waits_hold_threads(p):
    """Gives network waits a thread each, as blocking calls have."""
    return 26 if _twin_case(p, "blocking_calls", syscalls=0) else None


# ---- lab03 -----------------------------------------------------------------------------------


def _diagnosis_choice(cause):
    from labkit.exercises import lab03

    return next(k for k, (c, _) in lab03.DIAGNOSES.items() if c == cause)


def a_late_frame_means_hogs(p):
    """Any late frame blamed on goroutines hogging the Ps (wrong unless they did)."""
    return None if p["case"].startswith(("hogs", "healthy")) else _diagnosis_choice("late_timer")


def a_late_frame_means_a_run_queue(p):
    """Any late frame blamed on the run queue: 'too many goroutines' (wrong unless it was)."""
    if p["case"].startswith(("burst", "healthy")):
        return None
    return _diagnosis_choice("runqueue_delay")


def regular_frames_are_on_time(p):
    """Frames that are all alike read as healthy, though each waits 8 ms on a slow channel."""
    return _diagnosis_choice(None) if p["case"].startswith("channel") else None


def _profile(p):
    from labkit.exercises import lab03

    if p.get("source") == "recorded":
        return lab03.recorded_profile(p["scenario"])
    return lab03.model_profile(p["cause"], p["seed"]).profile


def render_frame_on_top_means_a_tight_loop(p):
    """Takes the widest self box, the frame's own drawing, for the cause."""
    fn, _, _ = _profile(p).top(1)[0]
    return "tight loop" if fn == "main.renderFrame" else None


def own_function_with_callees_means_a_tight_loop(p):
    """A wide self box of the program's own, though it calls into a lock or the runtime."""
    fn, flat, cum = _profile(p).top(1)[0]
    if fn.startswith("main.") and fn != "main.renderFrame" and cum > 1.5 * flat:
        return "tight loop"
    return None


def runtime_lock_means_lock_contention(p):
    """runtime.lock2 / unlock2 (the scheduler's and the sweeper's locks) read as a mutex."""
    names = [fn for fn, _, _ in _profile(p).top(6)]
    if any(n in ("runtime.lock2", "runtime.unlock2") for n in names) and not any(
        "Mutex" in n for n in names
    ):
        return "lock contention"
    return None


def procyield_spin_means_a_tight_loop(p):
    """runtime.procyield on top (a mutex's spin, PAUSE instructions) read as a loop of ours."""
    fn, _, _ = _profile(p).top(1)[0]
    return "tight loop" if fn == "runtime.procyield" else None


def diff_own_function_names_the_cause(p):
    """Hides the runtime's frames and takes the program's own function that the fix shrank
    most for the stall, though most of the removed time was outside the program's code."""
    from labkit.exercises import lab03

    before, after = (
        lab03.model_profile(p["cause"], p["seed"]).profile,
        lab03.model_profile(p["cause"], p["seed"], fixed=True).profile,
    )
    delta: dict[str, int] = {}
    for stack, (b, a) in after.diff(before).items():
        if stack:
            delta[stack[-1]] = delta.get(stack[-1], 0) + a - b
    own = {f: d for f, d in delta.items() if f.startswith("main.") and d < 0}
    outside = -sum(d for f, d in delta.items() if not f.startswith("main.") and d < 0)
    if not own or outside <= -sum(own.values()):
        return None
    return "tight loop"


# ---- lab04 -----------------------------------------------------------------------------------


def _offered(p):
    return p["arrival_rate"] * p["service_ms"] / 1000


def workers_equal_the_offered_load(p):
    """'Start at the offered load': c = a, where the queue never drains."""
    return _offered(p)


def workers_capped_at_gomaxprocs(p):
    """Thinks more workers than Ps cannot help, though most of the work is a database wait."""
    return 4 if _offered(p) >= 4 else None


def workers_as_a_time(p):
    """The offered load in the wrong unit."""
    return f"{p['service_ms']:g} ms"


def eager_watchdog_is_always_best(p):
    """Thinks adding workers fast always helps, so the sluggish one must be worst."""
    from labkit.exercises.lab04 import WATCHDOG_SETTINGS

    return WATCHDOG_SETTINGS[2][0] if p["cpu_bound"] == 1.0 else None


def more_workers_always_help(p):
    """Thinks more workers always means more throughput, CPU-bound work included."""
    from labkit.exercises.lab04 import BEYOND_OPTIONS

    return BEYOND_OPTIONS[0] if p["cpu_bound"] == 1.0 else None


def extra_workers_only_queue(p):
    """Thinks workers beyond GOMAXPROCS can never help, network waits included."""
    from labkit.exercises.lab04 import BEYOND_OPTIONS

    return BEYOND_OPTIONS[2] if p["cpu_bound"] < 1.0 else None


def sleep0_is_the_parking_call(p):
    """The article's table: Sleep(0) parks (and costs 3.2x Gosched)."""
    from labkit.exercises.lab04 import YIELD_CALLS

    return YIELD_CALLS["sleep0"] if p["kind"] == 2 else None


def sleep1ns_gives_a_turn(p):
    """Thinks parking on a 1 ns timer lets the other goroutine run every time."""
    from labkit.exercises.lab04 import YIELD_CALLS

    return YIELD_CALLS["sleep1ns"] if p["kind"] == 0 else None


def gosched_is_a_plain_call(p):
    from labkit.exercises.lab04 import YIELD_CALLS

    return YIELD_CALLS["gosched"] if p["kind"] == 1 else None


def _a(p):
    return p["rate"] * p["service_ms"] / 1000


def erlang_wait_is_the_chance_to_wait(p):
    """Stops at C, the chance to wait, and reports it as ms."""
    from labkit.models.pool import erlang_c_probability

    return erlang_c_probability(_a(p), p["c"])


def erlang_wait_without_c(p):
    """W = s / (c - a): forgets that only a share C of the requests waits."""
    return p["service_ms"] / (p["c"] - _a(p))


def erlang_wait_includes_service(p):
    """Reports the time in system (wait + service) instead of the wait in the channel."""
    from labkit.models.pool import erlang_c_wait_ms

    return erlang_c_wait_ms(p["rate"], p["service_ms"], p["c"]) + p["service_ms"]


def erlang_wait_in_seconds(p):
    from labkit.models.pool import erlang_c_wait_ms

    return f"{erlang_c_wait_ms(p['rate'], p['service_ms'], p['c']):.3f} s"


def _stage_caps(p):
    return {
        "decode": 1000 / 1.0,
        "draw": p["draw_workers"] * 1000 / p["draw_ms"],
        "upload": 1000 / 1.5,
    }


def pipeline_ignores_the_ps(p):
    """The slowest stage alone, as if every stage had its own CPU."""
    caps = _stage_caps(p)
    cpu_limit = p["procs"] * 1000 / (1.0 + p["draw_ms"] + 0.5)
    return None if min(caps.values()) <= cpu_limit else min(caps.values())


def pipeline_ignores_the_draw_workers(p):
    """One worker's rate for the draw stage."""
    if p["draw_workers"] == 1:
        return None
    caps = {**_stage_caps(p), "draw": 1000 / p["draw_ms"]}
    return min(*caps.values(), p["procs"] * 1000 / (1.0 + p["draw_ms"] + 0.5))


def pipeline_device_wait_uses_a_p(p):
    """Counts upload's device wait as CPU on the Ps."""
    caps = _stage_caps(p)
    wrong = p["procs"] * 1000 / (1.0 + p["draw_ms"] + 1.5)
    right = p["procs"] * 1000 / (1.0 + p["draw_ms"] + 0.5)
    if min(*caps.values(), wrong) == min(*caps.values(), right):
        return None
    return min(*caps.values(), wrong)


def wait_proportional_to_load(p):
    """Thinks the wait scales with the load: from s at 50 % to s x rho / 0.5."""
    return p["service_ms"] * p["rho"] / 0.5


def wait_is_the_time_in_system(p):
    """Adds the service itself: rho / (1 - rho) s + s."""
    return p["rho"] / (1 - p["rho"]) * p["service_ms"] + p["service_ms"]


def wait_without_the_service_time(p):
    """Stops at rho / (1 - rho), a pure number, and types it as ms."""
    return p["rho"] / (1 - p["rho"])


def _kingman(p, variability):
    return p["rho"] / (1 - p["rho"]) * variability * p["service_ms"]


def kingman_without_the_half(p):
    return _kingman(p, p["ca2"] + p["cs2"])


def kingman_ignores_variability(p):
    """The M/M/1 answer whatever the work and the arrivals look like."""
    return None if p["ca2"] + p["cs2"] == 2 else _kingman(p, 1.0)


def kingman_with_coefficients_not_squared(p):
    """Uses the coefficients of variation where the formula squares them."""
    cv = (math.sqrt(p["ca2"]) + math.sqrt(p["cs2"])) / 2
    return None if math.isclose(cv, (p["ca2"] + p["cs2"]) / 2) else _kingman(p, cv)


def _rounds(p):
    return p["jobs"] / p["procs"]


def same_cpu_same_latency(p):
    """Both pools finish the last request at once, so the means must be equal."""
    return 0.0


def sharing_reports_pool_b_mean(p):
    return _rounds(p) * p["job_ms"]


def sharing_reports_pool_a_mean(p):
    return p["job_ms"] * (_rounds(p) + 1) / 2


def fcfs_mean_is_half_the_makespan(p):
    """Takes pool A's mean to be half its last finish time: k s - k s / 2."""
    return _rounds(p) * p["job_ms"] / 2


def omission_closed_loop_p99(p):
    """Trusts the closed loop's number."""
    return 0.2


def omission_p99_is_the_stall(p):
    return p["stall_ms"]


def omission_p99_is_the_mean_stalled_wait(p):
    return p["stall_ms"] / 2


def omission_one_percent_of_the_stalled_requests(p):
    """Takes 1 % of the requests due during the stall, not of all requests."""
    return p["stall_ms"] - p["stall_ms"] / p["interval_ms"] / 100 * p["interval_ms"]


def waits_are_the_run_time(p):
    """Takes the trace's duration for the profile's total: waits do not add up over goroutines."""
    return p["duration_s"] if "kind" in p else None


def every_goroutine_waits_all_the_time(p):
    """sched: all four compressors and the render loop wait the whole run (forgets the Ps)."""
    return 5 * p["duration_s"] if p.get("kind") == "sched" else None


def one_refresh_is_the_total(p):
    """sync: the refresh's 200 ms, once, for 48 handlers blocked at the same time."""
    return 0.2 if p.get("kind") == "sync" else None


def sleep_counts_as_cpu(p):
    """Divides by the frame's whole period, sleep included, as if sleeping took samples."""
    from labkit.exercises import lab03

    if "by_hand" not in p:
        return None
    if p["cause"] == "tight loop":
        return 100 * p["layout_ms"] / (p["render_ms"] + p["layout_ms"] + p["sleep_ms"])
    per, n = lab03.WRITE_MS + lab03.KERNEL_MS, p["writes_per_frame"]
    return 100 * n * per / (p["render_ms"] + n * (per + lab03.FORMAT_MS) + p["sleep_ms"])


def share_of_the_drawing(p):
    """Gives the drawing's share of the CPU instead of the function the question asks about."""
    from labkit.exercises import lab03

    if "by_hand" not in p:
        return None
    if p["cause"] == "tight loop":
        return 100 * p["render_ms"] / (p["render_ms"] + p["layout_ms"])
    per = lab03.WRITE_MS + lab03.KERNEL_MS + lab03.FORMAT_MS
    return 100 * p["render_ms"] / (p["render_ms"] + p["writes_per_frame"] * per)


def longest_wait_is_one_time_slice(p):
    """Expects sysmon's 10 ms time slice to cap every wait."""
    return 10.0 if "twin" in p and "kind" not in p else None


def longest_wait_is_a_local_queue(p):
    """run_queues: the last of 256 local slots waits 256 ms (the overflow to the global queue
    does not make anyone wait less)."""
    return 256.0 if p.get("twin") == "run_queues" else None


MISTAKES: dict[str, list[Callable]] = {
    "start.frame_size": [
        frame_in_decimal_mb,
        three_bytes_per_pixel,
        one_byte_per_pixel,
        frame_in_kib,
        per_second_not_per_frame,
    ],
    "start.gogc_change": [gc_rate_grows_with_gogc, gogc_changes_nothing],
    "lab01.gc_rate": [
        gc_rate_frame_in_decimal_mb,
        gc_rate_runway_is_the_goal,
        gc_rate_ignores_gogc,
        gc_rate_three_bytes_per_pixel,
        gc_rate_per_frame,
    ],
    "lab01.heap_goal_with_limit": [
        goal_without_headroom,
        goal_ignores_the_non_heap_memory,
        goal_ignores_the_limit,
        higher_goal_wins,
        goal_in_decimal_mb,
    ],
    "lab01.gogc_for_jank_budget": [gogc_budget_at_gomaxprocs_4, gogc_budget_read_as_a_fraction],
    "lab01.pool_or_gogc_under_limit": [
        gogc_helps_more_than_the_pool,
        the_limit_always_sets_the_goal,
    ],
    "lab01.stall_jank": [
        jank_with_gomaxprocs_4,
        jank_with_the_default_live_heap,
        jank_with_the_default_producers,
        jank_as_a_fraction,
        gc_cpu_share_read_as_jank,
    ],
    "lab01.second_p": [a_second_p_changes_nothing, a_second_p_removes_every_late_frame],
    "lab01.torn_share": [
        torn_overlaps_added_up,
        torn_by_one_producer,
        torn_never_go_is_memory_safe,
    ],
    "lab01.victim_cache": [
        pool_never_drops_a_buffer,
        pool_drops_on_every_cycle_still,
        pool_allocates_per_frame,
    ],
    "lab02.finish_behind_loop": [
        start_time_by_the_rule,
        start_time_on_the_timeline,
        req_runs_first,
        the_other_go_versions_rule,
        finish_time_in_seconds,
        finish_time_as_a_size,
    ],
    "lab02.spawn_order": [spawn_order_fifo, spawn_order_lifo],
    "lab02.smallest_gomaxprocs": [gomaxprocs_rounded_down, gomaxprocs_plus_one_for_sysmon],
    "lab02.which_blind_spot": [
        thread_count_means_syscalls,
        any_tick_lateness_means_timers,
        one_p_without_preemption_means_a_loop,
    ],
    "lab02.syscall_threads": [
        threads_without_sysmon,
        threads_counting_network_waits,
        threads_syscalls_only,
        threads_gomaxprocs_plus_sysmon,
        threads_counted_as_goroutines,
    ],
    "lab02.which_yield": [
        sleep_yields_at_once,
        calls_cannot_be_preempted_before_1_14,
        a_loop_is_preempted_on_any_version,
        gosched_waits_for_sysmon,
    ],
    "lab02.stall_in_real_trace": [
        timers_fire_on_time,
        one_hog_delays_the_timers_too,
        sysmon_preempts_without_the_signal,
        no_preemption_inside_a_loop,
        threads_are_gomaxprocs,
        network_waits_hold_threads,
    ],
    "lab03.wait_total": [
        waits_are_the_run_time,
        every_goroutine_waits_all_the_time,
        one_refresh_is_the_total,
    ],
    "lab03.cpu_share": [sleep_counts_as_cpu, share_of_the_drawing],
    "lab03.longest_wait": [longest_wait_is_one_time_slice, longest_wait_is_a_local_queue],
    "lab02.global_queue_after_burst": [
        global_128_per_overflow,
        global_overflow_every_128_spawns,
        # Not "forgets the goroutine in runnext" (the first overflow at 257, not 258): only 257
        # spawns told it apart, and there real Go itself gives 129 (its own goroutines queued
        # before main runs move each overflow one or two spawns earlier), so the question no
        # longer draws a count that close to an overflow (lab02.global_queue_after_burst).
        global_takes_everything_past_the_local_queue,
    ],
    "lab03.recorded_cause": [
        render_frame_on_top_means_a_tight_loop,
        own_function_with_callees_means_a_tight_loop,
        runtime_lock_means_lock_contention,
    ],
    "lab03.model_cause": [
        render_frame_on_top_means_a_tight_loop,
        procyield_spin_means_a_tight_loop,
    ],
    "lab03.diff_fix": [diff_own_function_names_the_cause],
    "lab03.diagnose_trace": [
        a_late_frame_means_hogs,
        a_late_frame_means_a_run_queue,
        regular_frames_are_on_time,
    ],
    "lab04.fewest_workers": [
        workers_equal_the_offered_load,
        workers_capped_at_gomaxprocs,
        workers_as_a_time,
    ],
    "lab04.worst_watchdog": [eager_watchdog_is_always_best],
    "lab04.beyond_gomaxprocs": [more_workers_always_help, extra_workers_only_queue],
    "lab04.yield_turns": [
        sleep0_is_the_parking_call,
        sleep1ns_gives_a_turn,
        gosched_is_a_plain_call,
    ],
    "lab04.erlang_c_by_hand": [
        erlang_wait_is_the_chance_to_wait,
        erlang_wait_without_c,
        erlang_wait_includes_service,
        erlang_wait_in_seconds,
    ],
    "lab04.pipeline_throughput": [
        pipeline_ignores_the_ps,
        pipeline_ignores_the_draw_workers,
        pipeline_device_wait_uses_a_p,
    ],
    "lab04.hockey_stick_wait": [
        wait_proportional_to_load,
        wait_is_the_time_in_system,
        wait_without_the_service_time,
    ],
    "lab04.kingman_variability": [
        kingman_without_the_half,
        kingman_ignores_variability,
        kingman_with_coefficients_not_squared,
    ],
    "lab04.sharing_vs_fcfs": [
        same_cpu_same_latency,
        sharing_reports_pool_b_mean,
        sharing_reports_pool_a_mean,
        fcfs_mean_is_half_the_makespan,
    ],
    "lab04.omission_p99": [
        omission_closed_loop_p99,
        omission_p99_is_the_stall,
        omission_p99_is_the_mean_stalled_wait,
        omission_one_percent_of_the_stalled_requests,
    ],
}

#: Mistakes that apply only to some variants of their question (a None in most seeds is by
#: design) must still be tested on at least this many variants.
MIN_SEEDS = 3


def _exercises_in(module: str) -> list[str]:
    mod = importlib.import_module(f"labkit.exercises.{module}")
    return [
        f"{module}.{name}"
        for name, fn in inspect.getmembers(mod, inspect.isfunction)
        if fn.__module__ == mod.__name__
        and not name.startswith("_")
        and inspect.get_annotations(fn, eval_str=True).get("return") is Variant
    ]


def test_every_exercise_lists_its_mistakes():
    every = {name for m in MODULES for name in _exercises_in(m)}
    assert every == set(MISTAKES), "exercises without a list of wrong answers, or stale entries"


CASES = [
    pytest.param(name, mistake, id=f"{name}-{mistake.__name__}")
    for name, mistakes in MISTAKES.items()
    for mistake in mistakes
]


@pytest.mark.parametrize(("name", "mistake"), CASES)
def test_check_rejects_the_mistake_for_seeds_0_to_19(name, mistake):
    """Every seed 0-19 the mistake applies to, and more seeds (up to 59) until it has been
    tried on MIN_SEEDS variants: a mistake of a rare variant is tested too."""
    tested = 0
    for seed in range(60):
        if seed >= len(SEEDS) and tested >= MIN_SEEDS:
            break
        v = variant(name, seed)
        wrong = mistake(v.params)
        if wrong is None:
            continue
        tested += 1
        ex = exercise(name, seed)
        if v.is_choice:
            assert wrong in v.choices, f"seed {seed}: the mistake's answer is not offered"
        assert not ex.check(wrong), (
            f"seed {seed}: {mistake.__name__} gives {wrong!r}, which Check accepts; "
            f"params {v.params}"
        )
    assert tested >= MIN_SEEDS, f"{mistake.__name__} applies to only {tested} of 60 seeds"


def _right_in_other_units(v: Variant) -> list[str]:
    """The key written in other units of the same kind (what a right learner may type)."""
    x = float(v.answer)
    return {
        "ms": [f"{x / 1000!r} s", f"{x * 1000!r} us", f"{x!r}ms"],
        "MiB": [f"{x * MIB!r} B", f"{x * 1024!r} KiB", f"{x * MIB / 1e6!r} MB"],
        "cycles/s": [f"{x!r}/s", f"{x / 1000!r} cycles/ms", f"{x!r} GC/s"],
        "items/s": [f"{x!r}/s", f"{x / 1000!r} items/ms"],
        "%": [f"{x!r} %"],
        "s": [f"{x * 1000!r} ms", f"{x!r}s"],
        "frames": [f"{x:g} frames"],
        "threads": [f"{x:g} threads"],
        "goroutines": [f"{x:g} goroutines"],
        "workers": [f"{x:g} workers"],
        "": [f"{x!r}"],
    }[v.unit]


NUMERIC = [name for name in MISTAKES if not variant(name, 0).is_choice]


@pytest.mark.parametrize("name", NUMERIC)
def test_the_key_is_right_in_every_unit_of_its_kind(name):
    for seed in SEEDS:
        v = variant(name, seed)
        for text in _right_in_other_units(v):
            assert exercise(name, seed).check(text), f"seed {seed}: {text!r} rejected"


def _old_gc_rate(v: Variant) -> Variant:
    """gc_rate as it was: the goal - live estimate as the key, 5 % either way."""
    from labkit.exercises.lab01 import gc_rate_estimate

    return replace(v, answer=gc_rate_estimate(**v.params), rel_tol=0.05, abs_tol=0.0, also=())


#: The tolerances these exercises had before this table existed, and a mistake each let
#: through: the proof that the table's test fails on a check that is too loose.
OLD_CHECKS = [
    ("lab02.global_queue_after_burst", global_128_per_overflow, {"abs_tol": 3.0}),
    ("lab02.syscall_threads", threads_without_sysmon, {"abs_tol": 1.0}),
    ("lab01.gc_rate", gc_rate_frame_in_decimal_mb, _old_gc_rate),
    ("lab01.stall_jank", jank_with_the_default_producers, {"rel_tol": 0.1, "abs_tol": 0.2}),
    ("lab01.heap_goal_with_limit", goal_ignores_the_non_heap_memory, {"rel_tol": 0.01}),
]


@pytest.mark.parametrize(
    ("name", "mistake", "old"), OLD_CHECKS, ids=[f"{n}-{m.__name__}" for n, m, _ in OLD_CHECKS]
)
def test_the_old_tolerance_let_the_mistake_through(name, mistake, old):
    accepted = 0
    for seed in SEEDS:
        v = variant(name, seed)
        wrong = mistake(v.params)
        if wrong is None:
            continue
        loose = old(v) if callable(old) else replace(v, **old, also=())
        accepted += loose.accepts(float(wrong)) is not None
        assert not exercise(name, seed).check(wrong)
    assert accepted > 0, "the old check would have caught it too: not a proof"


def test_heap_goal_mistakes_are_computed_from_the_pacer_rules():
    # 512 MiB live, GOGC=200, GOMEMLIMIT=1280 MiB, 8.8 MiB outside the heap: GOGC goal 1536,
    # limit goal 1271.2 - 38.136 (3 % of what the non-heap memory leaves).
    p = {"live_mib": 512, "gogc": 200, "limit_mib": 1280, "non_heap_mib": 8.8}
    assert _limit_goal_mib(p) == pytest.approx(1233.064)
    assert heap_goal_bytes(
        512 * MIB, gogc=200, memory_limit=1280 * MIB, other_non_heap_bytes=int(8.8 * MIB)
    ) / MIB == pytest.approx(1233.064, abs=0.01)
    assert goal_without_headroom(p) == pytest.approx(1271.2)
    assert goal_ignores_the_non_heap_memory(p) == pytest.approx(1241.6)
    assert np.isclose(higher_goal_wins(p), 1536)
