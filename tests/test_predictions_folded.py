"""A prediction is not answered on the screen before the learner has made it.

A chapter asks the learner to predict (an exercise with ``predict=True``: its own figure stays
hidden until Check), then runs the same program in the cells below it. Those cells' committed
outputs are on the screen the moment the notebook opens, often in the same view as the question:
a p99 printed two cells under "Predict the p99" answers it. So every code cell that answers a
prediction is *folded*: ``metadata.jupyter.outputs_hidden`` (JupyterLab shows a collapsed bar
until the cell is run or the bar clicked; running a cell unfolds it) and the tag ``hide-output``
(the website's myst-nb shows a "Show code cell output" toggle).

Which cells answer a prediction:

- a numeric prediction: any code cell after it in its section (up to the next heading or the
  next exercise) whose output shows the answer, in its text or in the labels of a figure's
  still, at the precision it shows it (105.7 for an answer of 105.732, 36 for 36): found here,
  so a new cell that prints it fails the test;
- and the cells named in :data:`READ_ANSWERS`: answers a reader reads, not a number printed
  (a multiple-choice answer such as "the frame waits for the P" read from a table, a position in
  a printed run order), which no rule can spot in general.

JupyterLab writes the first line of a folded output on its bar, so that line must not give the
answer either, nor be a figure's SVG source: a folded cell that prints its answer on its first
line, or draws a figure, prints a caption first ("Preset 2.4 on one P: the model's run queues
over time").

And nothing else is folded: a folded cell must answer a prediction, so folding is not used to
hide what a reader should see. ``test_the_check_fails_on_*`` feeds the checks notebooks broken
the way they look for.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from labkit.exercises.seeded import Exercise, Variant

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p.relative_to(ROOT).as_posix()
    for p in [*(ROOT / "chapters").glob("*.ipynb"), *(ROOT / "labs").glob("*.ipynb")]
)
TAG = "hide-output"

#: Predictions whose answer is read, not printed, and the cells (ids) whose outputs give it away.
#: Every multiple-choice prediction is here, with an empty set when a reader checked that no
#: cell of its section shows the answer (no rule can tell a choice's answer from other text, so
#: a new one must be looked at: ``choice_problems``).
READ_ANSWERS: dict[str, dict[str, set[str]]] = {
    "chapters/01-render-stalls.ipynb": {
        # the late frames' mean time by part: wait 15.67 ms of 21.84 (the answer: wait), and
        # the reading under it ("they start late")
        "ch01.late_frame_part": {"e03e3313", "40a68bbf"},
    },
    "chapters/01b-gctrace-and-buffer-reuse.ipynb": {
        # the frame lab below opens on the stall (fresh buffers), not the pool's GC rate
        "ch01.pool_gc_rate": set(),
    },
    "chapters/02-scheduler-blind-spots.ipynb": {
        # the model's run order ['g5', 'g1', 'g2', 'g3', 'g4'] and its timeline: g3 runs 4th
        "ch02.run_position": {"ef03d20f", "61e55fc0"},
    },
    "chapters/04b-pools-and-queueing.ipynb": {
        # real Go's pools of 2 and 8 and a goroutine per request: p50 and p99 printed and drawn,
        # and the reading of them ("lower the median ... raise the tail")
        "ch04b.pool_prediction": {"e9659209", "5ac0de73", "6ed4dd0d"},
    },
    "chapters/05-case-study.ipynb": {
        # each fix alone on the same incident: streaming's p99 printed (answer C), and what
        # each fix did
        "ch05.one_fix_p99": {"dedf5332", "9c53bdcf"},
    },
    "chapters/05b-real-service.ipynb": {
        # each fix alone on the real service, p99 printed, and the reading of the rows
        "ch05b.real_fix_p99": {"0eead58c", "7c9ac59c"},
    },
    # The labs' predictions have no cell after them in their sections but these: lab 2's
    # timeline of spawn_program(3) draws unnamed boxes (its order shows only on hover, once
    # run), and its yield cell runs Gosched without async preemption, not seed 0's question.
    "labs/lab01-frame-lab.ipynb": {
        "lab01.second_p": set(),
        "lab01.pool_or_gogc_under_limit": set(),
    },
    "labs/lab02-scheduler-lab.ipynb": {
        # Each section's "then explore" run answers a variant that New variant can draw, if not
        # the committed one: three goroutines' order (the timeline), Gosched's 2.50 ms, 300
        # spawns' 129 on the global queue, 4 calls' 6 threads, and the model's preemption time.
        "lab02.spawn_order": {"4bf0caf2"},
        "lab02.finish_behind_loop": {"ed0835dc"},
        "lab02.which_yield": {"c5a54abc"},
        "lab02.global_queue_after_burst": {"56606321"},
        "lab02.syscall_threads": {"a2f3ffc5"},
    },
    "labs/lab05-capstone.ipynb": {
        "lab05.timeout_and_driver": set(),
        "lab05.threads_in_flight": set(),
        "lab05.one_p_frames": set(),
        "lab05.gogc_on_payload": set(),
    },
}

EXERCISE = re.compile(r"Exercise\(\s*(?:(\w+)\.)?(\w+),\s*seed=(\w+)")
HEADING = re.compile(r"^#{1,6} ", re.M)
# A number as a reader sees one: after a space, an opening bracket or a colon, not inside a
# name or an assignment ("m=6", "g14", "0x1f" are not the answer 6, 14, 1)
NUMBER = re.compile(r"(?:(?<=^)|(?<=[\s(\[:]))-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w.]*\w)", re.M)
# In prose a number may also close a range ("16-20 ms", "47 → 380") or be a word ("six of them").
PROSE_NUMBER = re.compile(r"(?:(?<=^)|(?<=[\s(\[:\-–→]))\d+(?:,\d{3})*(?:\.\d+)?(?![\w.]*\w)", re.M)
WORDS = dict(
    zip(
        (
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ),
        range(1, 13),
        strict=True,
    )
)
# A fold in markdown: what a reader opens, after checking the prediction.
DETAILS = re.compile(r"<details>.*?</details>", re.S)
# Words a markdown cell may show outside its fold (a lead-in such as "What each fix did:").
LEAD_WORDS = 40


@dataclass(frozen=True)
class Prediction:
    index: int  # the exercise's cell
    name: str  # "ch02.loop_p99"
    variant: Variant


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _shown(out: dict) -> str:
    """What a reader sees of one output: a stream's text; of a display, its figure's text (an
    SVG still's labels) when it has one, else its plain text."""
    if out.get("output_type") == "stream":
        text = out.get("text", "")
        return "".join(text) if isinstance(text, list) else text
    data = out.get("data", {})
    svg = data.get("image/svg+xml")
    if svg is not None:
        return "\n".join(re.findall(r">([^<>]+)<", "".join(svg)))
    text = data.get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


def output_text(cell: dict) -> str:
    """What a reader reads in a code cell's committed outputs."""
    return "\n".join(_shown(out) for out in cell.get("outputs", []))


def folded_bar(cell: dict) -> str:
    """The line JupyterLab shows on a folded output's bar (CodeCell.getOutputPlaceholderText in
    @jupyterlab/cells): the first non-empty line of the first output, from its first of
    text/html, image/svg+xml, text/markdown, text/plain or the stream's text."""
    outputs = cell.get("outputs", [])
    if not outputs:
        return ""
    out = outputs[0]
    if out.get("output_type") == "stream":
        text = out.get("text", "")
    else:
        data = out.get("data", {})
        order = ("text/html", "image/svg+xml", "text/markdown", "text/plain")
        text = next((data[m] for m in order if m in data), "")
    lines = ("".join(text) if isinstance(text, list) else text).split("\n")
    return next((line for line in lines if line.strip()), "")


def is_folded(cell: dict) -> bool:
    folded = cell.get("metadata", {}).get("jupyter", {}).get("outputs_hidden") is True
    return folded and TAG in cell.get("metadata", {}).get("tags", [])


def predictions(nb: dict) -> Iterator[Prediction]:
    """The notebook's exercises that are predictions, with the variant its seed draws."""
    cells = nb["cells"]
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    bare_module = re.search(r"from labkit\.exercises\.(\w+) import", code)
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        for mod, fn, seed in EXERCISE.findall(_source(cell)):
            mod = mod or (bare_module.group(1) if bare_module else "")
            if not seed.isdigit():  # SEED = 0 set in the notebook
                seed = re.search(rf"^{seed} = (\d+)", code, re.M).group(1)
            make = getattr(importlib.import_module(f"labkit.exercises.{mod}"), fn)
            variant = _variant(make, int(seed))
            if variant.predict:
                yield Prediction(i, f"{mod}.{fn}", variant)


@cache
def _variant(make, seed: int) -> Variant:
    return Exercise(make, seed=seed).variant


def section_after(cells: list[dict], index: int) -> Iterator[dict]:
    """The code cells after cell ``index`` up to the next heading or the next exercise."""
    for cell in cells[index + 1 :]:
        src = _source(cell)
        if cell["cell_type"] == "markdown" and HEADING.search(src):
            return
        if cell["cell_type"] == "code":
            if EXERCISE.search(src):
                return
            yield cell


def markdown_after(cells: list[dict], index: int) -> Iterator[tuple[dict, str]]:
    """The markdown a reader sees under a prediction, cell by cell, with the text shown
    unopened: up to the next heading (the heading's own cell up to its heading line) or the
    next exercise, less what is folded in ``<details>``."""
    for cell in cells[index + 1 :]:
        src = _source(cell)
        if cell["cell_type"] == "code":
            if EXERCISE.search(src):
                return
            continue
        heading = HEADING.search(src)
        yield cell, DETAILS.sub("", src[: heading.start()] if heading else src)
        if heading:
            return


def says(text: str, answer: float) -> str | None:
    """The first number in prose ``text`` that is ``answer`` as written: digits (a range's end
    included) at their own precision, or a word for a whole number up to twelve."""
    for token in PROSE_NUMBER.findall(text):
        value = float(token.replace(",", ""))
        decimals = len(token.split(".")[1]) if "." in token else 0
        if abs(value - answer) <= 0.5 * 10**-decimals + 1e-9:
            return token
    for word in re.findall(r"[A-Za-z]+", text):
        if WORDS.get(word.lower()) == answer:
            return word
    return None


def prose_problems(path: str, nb: dict) -> list[str]:
    """Prose under a prediction that answers it before the reader has: a numeric answer said
    outside a ``<details>`` fold, or a discussion READ_ANSWERS names (a choice's answer, which
    no rule can spot) with more than a lead-in outside its fold."""
    read = READ_ANSWERS.get(path, {})
    problems = []
    for p in predictions(nb):
        for cell, text in markdown_after(nb["cells"], p.index):
            cid = cell.get("id")
            word = None if p.variant.is_choice else says(text, float(p.variant.answer))
            if word is not None:
                problems.append(
                    f"markdown cell {cid} says the answer to {p.name} ({word}) where a reader "
                    "sees it: fold the discussion in <details>"
                )
            elif cid in read.get(p.name, set()) and len(text.split()) > LEAD_WORDS:
                problems.append(
                    f"markdown cell {cid} discusses the answer to {p.name} with "
                    f"{len(text.split())} words outside <details> (at most {LEAD_WORDS})"
                )
    return problems


def prints(text: str, answer: float) -> str | None:
    """The first number in ``text`` that is ``answer`` as printed (rounded to the number's own
    decimals), or None."""
    for token in NUMBER.findall(text):
        value = float(token.replace(",", ""))
        decimals = len(token.split(".")[1]) if "." in token else 0
        if abs(value - answer) <= 0.5 * 10**-decimals + 1e-9:
            return token
    return None


def answering_cells(path: str, nb: dict) -> dict[str, set[str]]:
    """Cell id -> the predictions (names) its outputs answer."""
    found: dict[str, set[str]] = {}
    read = READ_ANSWERS.get(path, {})
    for p in predictions(nb):
        for cell in section_after(nb["cells"], p.index):
            hit = cell.get("id") in read.get(p.name, set())
            if not p.variant.is_choice:
                hit = hit or prints(output_text(cell), float(p.variant.answer)) is not None
            if hit:
                found.setdefault(cell["id"], set()).add(p.name)
    return found


def fold_problems(path: str, nb: dict) -> list[str]:
    """What is wrong with the notebook's folds: an answer on show, or a fold that hides no
    answer."""
    answering = answering_cells(path, nb)
    answers = {p.name: float(p.variant.answer) for p in predictions(nb) if not p.variant.is_choice}
    problems = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        cid = cell.get("id")
        meta = cell.get("metadata", {})
        half = (meta.get("jupyter", {}).get("outputs_hidden") is True) != (
            TAG in meta.get("tags", [])
        )
        if half:
            problems.append(f"cell {cid}: outputs_hidden and the {TAG!r} tag go together")
        if cid in answering and not is_folded(cell):
            names = ", ".join(sorted(answering[cid]))
            problems.append(f"cell {cid} shows the answer to {names}: fold its output")
        elif cid not in answering and is_folded(cell):
            problems.append(f"cell {cid} is folded but answers no prediction above it")
        if is_folded(cell):
            bar = folded_bar(cell)
            if bar.lstrip().startswith("<"):
                problems.append(f"cell {cid}: its folded bar shows markup ({bar[:40]}...)")
            elif any(
                prints(bar, answers[name]) is not None
                for name in answering.get(cid, ())
                if name in answers
            ):
                problems.append(f"cell {cid}: its folded bar shows the answer ({bar.strip()})")
    for name, cells in READ_ANSWERS.get(path, {}).items():
        problems += [
            f"READ_ANSWERS names cell {c} for {name}: not a cell after that prediction"
            for c in sorted(cells)
            if name not in answering.get(c, set()) and c not in prose_cells(path, nb, name)
        ]
    return problems + choice_problems(path, nb) + prose_problems(path, nb)


def prose_cells(path: str, nb: dict, name: str) -> set[str]:
    """The markdown cells under prediction ``name`` (READ_ANSWERS may name them)."""
    return {
        cell.get("id")
        for p in predictions(nb)
        if p.name == name
        for cell, _ in markdown_after(nb["cells"], p.index)
    }


def choice_problems(path: str, nb: dict) -> list[str]:
    """A multiple-choice prediction nobody looked at: its answer is a phrase ("p50 falls, p99
    rises"), which no rule can find in a table or a figure, so each must be in READ_ANSWERS,
    with the cells that show its answer or none. (Chapter 4b's pool prediction was answered
    by the two cells under it, printed and drawn, until a review found it.)"""
    read = READ_ANSWERS.get(path, {})
    return [
        f"{p.name} (cell {p.index}) is a multiple-choice prediction missing from READ_ANSWERS: "
        "name the cells after it that show its answer (fold them), or none"
        for p in predictions(nb)
        if p.variant.is_choice and p.name not in read
    ]


@cache
def _load(path: str) -> dict:
    return json.loads((ROOT / path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_no_prediction_is_answered_before_it_is_made(path):
    problems = fold_problems(path, _load(path))
    assert not problems, f"{path}:\n" + "\n".join(problems)


def test_the_chapters_fold_what_answers_their_predictions():
    """The checks look where the answers are: the chapters that run a prediction's program
    right after it fold those cells (chapter 2b's loop p99, 21.53 ms, among them)."""
    folded = {
        path: sum(is_folded(c) for c in _load(path)["cells"])
        for path in NOTEBOOKS
        if any(is_folded(c) for c in _load(path)["cells"])
    }
    assert set(folded) >= {
        "chapters/01-render-stalls.ipynb",
        "chapters/02-scheduler-blind-spots.ipynb",
        "chapters/02b-preemption-queues-and-timers.ipynb",
        "chapters/03-flame-graphs.ipynb",
        "chapters/04-fixes.ipynb",
    }, folded
    loop = _load("chapters/02b-preemption-queues-and-timers.ipynb")
    assert answering_cells("chapters/02b-preemption-queues-and-timers.ipynb", loop)["12e6a2dc"] == {
        "ch02.loop_p99"
    }


def _unfolded(nb: dict, cell_id: str) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("id") == cell_id:
            cell["metadata"].pop("jupyter", None)
            cell["metadata"]["tags"] = [t for t in cell["metadata"].get("tags", []) if t != TAG]
    return nb


def test_the_check_fails_on_an_answer_left_on_show():
    path = "chapters/02b-preemption-queues-and-timers.ipynb"
    problems = fold_problems(path, _unfolded(_load(path), "12e6a2dc"))
    assert problems == ["cell 12e6a2dc shows the answer to ch02.loop_p99: fold its output"]
    path = "chapters/01-render-stalls.ipynb"  # a multiple-choice prediction's cell
    assert fold_problems(path, _unfolded(_load(path), "e03e3313")) == [
        "cell e03e3313 shows the answer to ch01.late_frame_part: fold its output"
    ]


def test_the_check_fails_on_a_choice_prediction_nobody_looked_at(monkeypatch):
    path = "chapters/04b-pools-and-queueing.ipynb"
    monkeypatch.setitem(READ_ANSWERS, path, {})
    assert fold_problems(path, _load(path)) == [
        "cell e9659209 is folded but answers no prediction above it",
        "cell 5ac0de73 is folded but answers no prediction above it",
        "ch04b.pool_prediction (cell 11) is a multiple-choice prediction missing from "
        "READ_ANSWERS: name the cells after it that show its answer (fold them), or none",
    ]


def _unfolded_prose(nb: dict, cell_id: str) -> dict:
    """The notebook with cell ``cell_id``'s <details> opened into plain text."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("id") == cell_id:
            text = re.sub(r"<details><summary>[^<]*</summary>", "", _source(cell))
            cell["source"] = text.replace("</details>", "")
    return nb


def test_the_check_fails_on_prose_that_answers_a_prediction():
    """Chapter 4's pipeline prediction (mean latency 380 ms with buffers of 64): the reading
    of the run said "47 -> 380 ms" right under the folded table until it was folded too; and
    chapter 5's discussion of each fix (a choice's answer, named in READ_ANSWERS)."""
    path = "chapters/04-fixes.ipynb"
    assert prose_problems(path, _unfolded_prose(_load(path), "b64read41")) == [
        "markdown cell b64read41 says the answer to ch04.pipeline_prediction (380) where a "
        "reader sees it: fold the discussion in <details>"
    ]
    path = "chapters/05-case-study.ipynb"
    (problem,) = prose_problems(path, _unfolded_prose(_load(path), "9c53bdcf"))
    assert problem.startswith("markdown cell 9c53bdcf discusses the answer to ch05.one_fix_p99")
    assert says("its first ten frames came late", 10) == "ten"
    assert says("sleeps lasted 16-20 ms", 19.68) == "20"
    assert says("the m=6 P", 6) is None


def test_the_check_fails_on_a_fold_that_hides_no_answer():
    path = "chapters/02b-preemption-queues-and-timers.ipynb"
    nb = copy.deepcopy(_load(path))
    lab = next(c for c in nb["cells"] if c.get("id") == "4db26e03")  # the lab's summary
    lab["metadata"]["jupyter"] = {"outputs_hidden": True}
    lab["metadata"]["tags"] = [TAG]
    assert fold_problems(path, nb) == ["cell 4db26e03 is folded but answers no prediction above it"]
    del lab["metadata"]["tags"]
    assert "cell 4db26e03: outputs_hidden and the 'hide-output' tag go together" in (
        fold_problems(path, nb)
    )


def test_a_number_is_read_as_a_reader_reads_it():
    assert prints("p99_ms: stall   199.61   fix    21.53", 21.5311) == "21.53"
    assert prints("makespan 105.7 ms", 105.732) == "105.7"
    assert prints("[5, 1, 2, 3, 4]", 4) == "4"
    assert prints("threads_peak: stall 36.00", 36) == "36.00"
    assert prints("goroutine 0 [idle] m=6 g14 0x6", 6) is None
    assert prints("p99 21.6 ms", 21.5311) is None
    assert prints("1,296 events", 1296) == "1,296"


def details_problems(text: str) -> list[str]:
    """Where a ``<details>`` fold in markdown is not a block of its own. CommonMark ends an HTML
    block only at a blank line, so text on the line of ``</details>``, or on the line after it,
    is read as raw HTML: its markdown (code, emphasis, links) is shown as typed. The same holds
    for text just before ``<details>``."""
    problems = []
    for m in re.finditer(r"</details>", text):
        rest = text[m.end() :]
        if rest.strip() and not rest.startswith("\n\n"):
            problems.append(f"text right after </details>: {rest[:40]!r}")
    for m in re.finditer(r"<details>", text):
        before = text[: m.start()]
        if before.strip() and not before.endswith("\n\n"):
            problems.append(f"text right before <details>: {before[-40:]!r}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_fold_in_the_prose_is_a_block_of_its_own(path):
    problems = [
        f"cell {cell.get('id')}: {p}"
        for cell in _load(path)["cells"]
        if cell["cell_type"] == "markdown"
        for p in details_problems(_source(cell))
    ]
    assert not problems, f"{path}:\n" + "\n".join(problems)


def test_the_block_check_fails_on_a_fold_closed_mid_paragraph():
    """Chapter 3's first fold of a trace reading ended '</details> The `-pprof=sched` profile',
    which JupyterLab and the site showed with its backticks."""
    assert details_problems("<details><summary>S</summary>\n\nx\n\n</details> The `p`") == [
        "text right after </details>: ' The `p`'"
    ]
    assert details_problems("a.\n<details><summary>S</summary>\n\nx\n\n</details>\nNext") == [
        "text right after </details>: '\\nNext'",
        "text right before <details>: 'a.\\n'",
    ]
    assert details_problems("<details><summary>S</summary>\n\nx\n\n</details>\n\nNext") == []
