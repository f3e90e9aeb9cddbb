"""The scheduler lab: controls for ``labkit.scenarios.blindspots.LabParams``, a preset per blind spot, and
the three scheduler views over one run, with a text summary that reads without the pictures.

Every control has ``continuous_update=False``: the model re-runs when a slider is released or a
key moves it, not on every pixel of a drag. Choosing a preset sets all controls at once and
re-runs once (observers are paused while it does).
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields
from typing import Any

import ipywidgets as w

from labkit.errors import ParameterError
from labkit.scenarios.blindspots import PRESETS, LabParams, LabRun, lab_params, run_lab
from labkit.validation import check_choice
from labkit.widgets._controls import check_control_value, check_params, param_slider, seed_box
from labkit.widgets._style import TextFallback, error_output, errors_shown_in, summary_html
from labkit.widgets.timeline import GoroutineStatePlot, RunQueuePlot, SchedulerTimeline

_STYLE = {"description_width": "11em"}
_WIDE = w.Layout(width="26em")


def _slider(name: str, desc: str) -> w.IntSlider | w.FloatSlider:
    """A control over LabParams' ``name``, over the range LabParams declares for the lab."""
    return param_slider(LabParams, name, desc, label_em=11, width_em=26)


_YIELD_LABELS = {
    "none": "no yield",
    "sleep0": "time.Sleep(0)",
    "gosched": "runtime.Gosched()",
    "sleep1ns": "time.Sleep(1ns)",
}


#: The CPU-cores menu: LabParams.cores is None (a CPU for every thread, the model's default) or
#: the CPUs the OS shares between the threads; the menu shows None as 0, "one per thread".
_CORES_MENU = [("one per thread", 0), ("1", 1), ("2", 2), ("4", 4), ("8", 8)]


def _shown(name: str, value: Any) -> Any:
    """A LabParams value as its control shows it."""
    return 0 if name == "cores" and value is None else value


def _given(name: str, value: Any) -> Any:
    """A control's value as LabParams takes it."""
    return None if name == "cores" and value == 0 else value


def _controls() -> dict[str, w.ValueWidget]:
    """The lab's controls by LabParams field name, each over the range LabParams declares."""
    return {
        "gomaxprocs": _slider("gomaxprocs", "GOMAXPROCS"),
        "cores": w.Dropdown(
            options=_CORES_MENU, description="CPU cores", style=_STYLE, layout=_WIDE
        ),
        "goroutines": _slider("goroutines", "requests (goroutines)"),
        "work_ms": _slider("work_ms", "CPU per request (ms)"),
        "arrival_ms": _slider("arrival_ms", "arrival spacing (ms)"),
        "syscall_share": _slider("syscall_share", "share in syscalls"),
        "io_share": _slider("io_share", "share in net waits"),
        "block_ms": _slider("block_ms", "syscall/wait (ms)"),
        "hogs": _slider("hogs", "CPU hogs"),
        "hog_ms": _slider("hog_ms", "hog loop length (ms)"),
        "hog_calls": w.Checkbox(description="hog loop makes function calls", indent=False),
        "yield_mode": w.Dropdown(
            options=[(_YIELD_LABELS[m], m) for m in LabParams.options("yield_mode")],
            description="hog yields with",
            style=_STYLE,
            layout=_WIDE,
        ),
        "async_preempt": w.ToggleButtons(
            options=[("Go >= 1.14 (async)", True), ("Go <= 1.13 (cooperative)", False)],
            description="preemption",
            style={**_STYLE, "button_width": "15em"},
        ),
        "tickers": _slider("tickers", "render tickers"),
        "locked": _slider("locked", "locked tickers"),
        "tick_ms": _slider("tick_ms", "ticker period (ms)"),
        "seed": seed_box(label_em=11),
    }


class SchedulerLab(TextFallback, w.VBox):
    """Sliders and presets over the scheduler model; timeline, run queues, states, summary."""

    def __init__(
        self, params: LabParams | None = None, *, preset: str | None = None, **overrides: Any
    ) -> None:
        start = check_params("SchedulerLab", params, LabParams) or LabParams()
        start = start.replace(**overrides)  # a bad value raises here, naming the parameter
        if preset is not None:
            check_choice("preset", preset, tuple(PRESETS), where="SchedulerLab")
        self._controls = _controls()
        assert set(self._controls) <= {f.name for f in fields(LabParams)}
        self._preset = w.Dropdown(
            options=[("(custom)", "")] + [(f"{k} {p.title}", k) for k, p in PRESETS.items()],
            description="blind spot",
            style=_STYLE,
            layout=_WIDE,
        )
        self._variant = w.ToggleButtons(
            options=[("stall", "stall"), ("fix", "fix")],
            value="stall",
            description="setting",
            style=_STYLE,
        )
        self._claim = w.HTML()
        self._timeline = SchedulerTimeline()
        self._runq = RunQueuePlot()
        self._states = GoroutineStatePlot()
        self._summary = w.HTML()
        self._errors = error_output()
        self._params = start
        self._result: LabRun | None = None
        self.last_update_s = 0.0
        self._paused = False
        self._set_controls(self._params)
        for control in self._controls.values():
            control.observe(self._on_control, names="value")
        self._preset.observe(self._on_preset, names="value")
        self._variant.observe(self._on_preset, names="value")
        super().__init__(self._layout())
        self.add_class("labkit-schedlab")
        if preset:
            self._preset.value = preset
        else:
            self._update()

    def _layout(self) -> list[w.Widget]:
        """Presets on top, then the workload and runtime controls side by side, the summary,
        and the three views of the run."""
        c = self._controls
        workload = w.VBox(
            [
                w.HTML("<b>Workload</b>"),
                c["goroutines"],
                c["work_ms"],
                c["arrival_ms"],
                c["syscall_share"],
                c["io_share"],
                c["block_ms"],
                c["tickers"],
                c["tick_ms"],
            ]
        )
        runtime = w.VBox(
            [
                w.HTML("<b>Runtime</b>"),
                c["gomaxprocs"],
                c["cores"],
                c["async_preempt"],
                c["hogs"],
                c["hog_ms"],
                c["hog_calls"],
                c["yield_mode"],
                c["locked"],
                c["seed"],
            ]
        )
        return [
            w.HBox([self._preset, self._variant]),
            self._claim,
            w.HBox([workload, runtime]),
            self._summary,
            self._timeline,
            self._runq,
            self._states,
            self._errors,
        ]

    # ---- state ------------------------------------------------------------------------------
    @property
    def params(self) -> LabParams:
        return self._params

    @property
    def result(self) -> LabRun | None:
        """The run on screen."""
        return self._result

    @property
    def controls(self) -> dict[str, w.ValueWidget]:
        """The controls by LabParams field name; setting ``.value`` is what a click does."""
        return dict(self._controls)

    @property
    def error(self) -> str:
        """Always '': every control's range is LabParams' own, so the controls cannot make a
        value the model refuses, and a bad value from code raises at the call."""
        return ""

    @property
    def timeline(self) -> SchedulerTimeline:
        return self._timeline

    def summary(self) -> str:
        return self._result.summary() if self._result else ""

    def _set_controls(self, params: LabParams) -> None:
        values = asdict(params)
        for name, value in values.items():
            self._check_fits(name, value)
        self._paused = True
        try:
            for name, control in self._controls.items():
                control.value = _shown(name, values[name])
        finally:
            self._paused = False

    def _read_controls(self) -> LabParams:
        values = {name: _given(name, control.value) for name, control in self._controls.items()}
        values["locked"] = min(values["locked"], values["tickers"])
        base = asdict(self._params)
        base.update(values)
        return LabParams(**base)

    # ---- events -----------------------------------------------------------------------------
    def _on_control(self, _change) -> None:
        if self._paused:
            return
        if self._preset.value:
            self._paused = True
            self._preset.value = ""
            self._paused = False
        self._update()

    def _on_preset(self, _change) -> None:
        if self._paused:
            return
        key = self._preset.value
        if not key:
            self._claim.value = ""
            return
        preset = PRESETS[key]
        self._params = preset.stall if self._variant.value == "stall" else preset.fix
        for name, value in asdict(self._params).items():
            self._check_fits(name, value)
        # The run and its figures first, then the controls that show its setting: each control
        # is a widget and a message of its own (nine for a preset), and sent first they held
        # the figures' messages back by ~20 ms (benchmarks/README.md).
        self._update(from_params=True)
        self._set_controls(self._params)
        self._claim.value = (
            f"<div style='max-width:60em'><b>The article ({key}):</b> {preset.claim}<br>"
            f"<b>What Go does:</b> {preset.truth}</div>"
        )

    def _update(self, from_params: bool = False) -> None:
        with errors_shown_in(self._errors):
            t0 = time.perf_counter()
            if not from_params:
                self._params = self._read_controls()
            self._result = run_lab(self._params)
            self._timeline.show(self._result.result)
            self._runq.show(self._result.result)
            self._states.show(self._result.result)
            self._summary.value = summary_html(self._result.summary())
            self.last_update_s = time.perf_counter() - t0

    def _check_fits(self, name: str, value: object) -> None:
        """A value the control cannot show is refused, never clamped: the slider would move it
        to its end and the lab would run something else than it was given."""
        if name == "cores" and value not in [None, *(v for _, v in _CORES_MENU[1:])]:
            raise ParameterError(
                "SchedulerLab: cores must be None (a CPU for every thread) or one of "
                f"{', '.join(str(v) for _, v in _CORES_MENU[1:])} in this lab; got {value!r}"
            )
        if name in self._controls:
            check_control_value("SchedulerLab", name, self._controls[name], _shown(name, value))

    # ---- driving from Python (tests, instructors) ----------------------------------------------
    def set(self, **values) -> None:
        """Set controls by LabParams field name and re-run once."""
        unknown = set(values) - set(self._controls)
        if unknown:
            raise ParameterError(
                f"unknown control(s) {sorted(unknown)}; known: {sorted(self._controls)}"
            )
        lab_params(self._params, **values)  # type and range, as run_lab checks them
        for name, value in values.items():
            self._check_fits(name, value)
        self._paused = True
        try:
            for name, value in values.items():
                self._controls[name].value = _shown(name, value)
            self._preset.value = ""
        finally:
            self._paused = False
        self._update()

    def choose(self, preset: str, variant: str = "stall") -> None:
        """Select a blind-spot preset ("2.1".."2.5") in its "stall" or "fix" setting."""
        if preset not in PRESETS:
            raise ParameterError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
        self._paused = True
        self._variant.value = variant
        self._paused = False
        if self._preset.value == preset:
            self._on_preset(None)
        else:
            self._preset.value = preset
