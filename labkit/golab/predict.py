"""What the course's models say each real-Go experiment will show: ``model_prediction``.

Each experiment's Go program is written again as a model program and run: the scheduler
experiments as ``labkit.models.scheduler`` goroutine programs (``predict_sched``: the same goroutines, in
the same order, with the same GOMAXPROCS, the program's own warm-up and repeats included, since
they decide what state sysmon is in), the GC experiments on the frame pipeline model
(``predict_gc``: ``labkit.models.renderloop`` paced by ``labkit.models.gcpacer``). The result has the same keys as
``run_experiment`` with ``"source": "model"``; every figure in it is computed by the model run,
none is copied from a recording (the model's inputs, such as a loop's length, are the program's
parameters).

``json_allocs`` has no model: no course model counts the allocations inside json.Marshal, so
``model_prediction("json_allocs")`` raises ``NoModelError`` (the appendix shows that experiment
as a real-Go fact, not as a comparison).

Deterministic: same parameters and seed, same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.golab.errors import ExperimentParameterError, NoModelError
from labkit.golab.experiments import RETAKE_CASE_PROCS, get_experiment
from labkit.golab.predict_gaps import (
    handoff_churn,
    handoff_costs,
    mutex_starve,
    pingpong_hog,
    prodcons,
    spin_flag,
    ticker_load,
    wg_order,
)
from labkit.golab.predict_gc import gc_frames, gc_live, gc_parallel, gc_render
from labkit.golab.predict_sched import (
    MODEL_GO_VERSION,
    call_kinds,
    locked_pingpong,
    lockosthread,
    oversubscribe,
    preempt,
    retake_keep,
    sleep_resolution,
    spawn_order,
    syscall_handoff,
    syscall_threads,
    yield_loop,
)

Model = Callable[[dict[str, Any], int], dict[str, Any]]

#: Each modelled experiment: its model, and the GOMAXPROCS it runs with (a function of the
#: parameters where the experiment sets it per run).
_MODELS: dict[str, tuple[Model, Callable[[dict[str, Any]], int]]] = {
    "preempt": (preempt, lambda p: 1),
    "yield": (yield_loop, lambda p: 1),
    "syscall_handoff": (syscall_handoff, lambda p: 1),
    "lockosthread": (lockosthread, lambda p: 2),
    "spawn_order": (spawn_order, lambda p: 1),
    "gc_frames": (gc_frames, lambda p: 2),
    "gc_live": (gc_live, lambda p: 2),
    "gc_parallel": (gc_parallel, lambda p: 2),
    "gc_render": (gc_render, lambda p: p["gomaxprocs"]),
    "syscall_threads": (syscall_threads, lambda p: p["gomaxprocs"]),
    "retake_keep": (retake_keep, lambda p: RETAKE_CASE_PROCS[p["case"]]),
    "sleep_resolution": (sleep_resolution, lambda p: 1),
    "locked_pingpong": (locked_pingpong, lambda p: 1),
    "call_kinds": (call_kinds, lambda p: 1),
    "oversubscribe": (oversubscribe, lambda p: p["gomaxprocs"]),
    "pingpong_hog": (pingpong_hog, lambda p: 1),
    "handoff_costs": (handoff_costs, lambda p: 1 if p["case"] == "rounds" else 2),
    "ticker_load": (ticker_load, lambda p: 1),
    "mutex_starve": (mutex_starve, lambda p: 2),
    "wg_order": (wg_order, lambda p: 1),
    "spin_flag": (spin_flag, lambda p: 1),
    "prodcons": (prodcons, lambda p: 2),
    "handoff_churn": (handoff_churn, lambda p: p["gomaxprocs"]),
}

#: Why an experiment has no model (model_prediction raises NoModelError with this text).
NO_MODEL = {
    "mutex_spin": "the recording is an input of the scheduler model (runtime.MUTEX_SPIN_MS, how "
    "long one spin of a contended sync.Mutex lasts on the recording machine), not a comparison",
    "json_allocs": "no course model counts the allocations json.Marshal makes (labkit.scenarios.casestudy "
    "takes its allocation per call as an input, labkit/scenarios/casestudy/params.py); the recording is "
    "a real-Go fact, not a comparison",
    "idle_wake": "the model's OS layer ends every sleep as late as a 20 us nanosleep "
    "(runtime.SYSMON_OVERSHOOT_QUANTILES_MS); the recording shows longer sleeps waking later, "
    "the reason the fidelity table gives for its Sleep(20ms) row, not a comparison",
}


#: Cases of a modelled experiment that have no model: (name, the ``case`` parameter) -> why.
NO_MODEL_CASES = {
    ("handoff_costs", "buffered"): "the recorded ratio is an input of the model (labkit.models."
    "scheduler.runtime.CHAN_OP_MS, what a channel operation that neither parks nor hands over "
    "costs: calibrate.chan_op_ms), not a comparison; gobench's ChanProdCons rows test it",
    ("handoff_costs", "shared"): "the recorded ratio is an input of the model (labkit.models."
    "scheduler.runtime.CHAN_LINE_MS, what a channel operation costs more when the channel's "
    "last operation ran on another P: calibrate.chan_line_ms), not a comparison; gobench's "
    "two-P ChanProdCons rows test it",
    ("handoff_costs", "wake"): "the recorded wake-up latencies are an input of the model "
    "(labkit.models.scheduler.runtime.THREAD_WAKE_QUANTILES_MS, drawn with simulate(cores=n)), "
    "not a comparison",
}


def has_model(name: str, **params: Any) -> bool:
    """Whether ``model_prediction(name, **params)`` has a model to run (not json_allocs, not
    handoff_costs' buffered, shared and wake cases)."""
    full = get_experiment(name).normalize(params)
    return name in _MODELS and (name, full.get("case")) not in NO_MODEL_CASES


def modelled() -> list[str]:
    """The experiments ``model_prediction`` can predict, in catalogue order."""
    from labkit.golab.experiments import experiments

    return [name for name in experiments() if name in _MODELS]


def model_prediction(name: str, *, seed: int = 0, **params: Any) -> dict[str, Any]:
    """What the model says experiment ``name`` shows: the keys of ``run_experiment``, plus
    ``"source": "model"`` and the ``seed``.

    Parameters are checked exactly as for ``run_experiment``. A model run is deterministic, so
    where the program repeats a measurement the model repeats it only where its own state
    changes between repeats (the preempt, syscall_handoff and retake_keep programs), and reports
    per-repeat values (``*_runs``) and their medians as the program does. Raises NoModelError
    for an experiment (json_allocs) or a case (handoff_costs' wake) no model can predict.
    """
    experiment = get_experiment(name)
    full = experiment.normalize(params)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ExperimentParameterError(f"seed must be an int >= 0, got {seed!r}")
    if name in NO_MODEL:
        raise NoModelError(f"{name}: {NO_MODEL[name]}")
    if (name, full.get("case")) in NO_MODEL_CASES:
        raise NoModelError(f"{name} case {full['case']}: {NO_MODEL_CASES[name, full['case']]}")
    model, procs = _MODELS[name]
    gomaxprocs = procs(full)
    out: dict[str, Any] = {
        "experiment": name,
        "params": full,
        "source": "model",
        "seed": seed,
        "go_version": MODEL_GO_VERSION,
        "gomaxprocs": gomaxprocs,
        # The model runs each P on a CPU of its own: as many CPUs as Ps (unless the model says
        # otherwise: oversubscribe's OS layer has the program's cores).
        "cpus": gomaxprocs,
    }
    out.update(model(full, seed))
    return out
