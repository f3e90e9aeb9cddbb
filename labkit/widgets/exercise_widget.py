"""The view of a :class:`labkit.exercises.seeded.Exercise`: answer box, Check, Reveal, New variant.

A thin view: every decision (is it right, what is the hint, what is the worked answer) is the
Exercise's. The worked answer is not in the widget's state until *Reveal* is pressed, so it can
be neither seen nor read from the page's source before then.
"""

from __future__ import annotations

import html
import re

import ipywidgets as w

from labkit.exercises.seeded import Exercise


def _inline_markdown(text: str) -> str:
    """Escape text and render the little markdown exercises use: `code`, **bold**, paragraphs."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in out.split("\n\n"))


class ExerciseWidget(w.VBox):
    """Question, an answer control, feedback and a hidden-until-asked worked answer."""

    def __init__(self, exercise: Exercise) -> None:
        self._ex = exercise
        self._title = w.HTML()
        self._question = w.HTML()
        self._answer_text = w.Text(
            placeholder="your answer", layout=w.Layout(width="12em"), continuous_update=False
        )
        self._unit = w.HTML()
        self._answer_choice = w.RadioButtons(options=[], value=None, layout=w.Layout(width="auto"))
        self._answer_box = w.HBox()
        self._check = w.Button(
            description="Check", button_style="primary", icon="check", tooltip="Check your answer"
        )
        self._reveal = w.Button(description="Reveal", icon="eye", tooltip="Show the worked answer")
        self._new = w.Button(
            description="New variant",
            icon="refresh",
            tooltip="Draw a new question from the next seed",
        )
        self._feedback = w.HTML(layout=w.Layout(min_height="1.5em"))
        self._solution = w.HTML()
        self._figure = w.VBox()  # the variant's figure, rebuilt for each variant
        self.figure = None
        self.answer_view = None  # a Variant.answer_figure, once drawn
        self._truth = w.HTML()  # a prediction's answer figure: "you predicted ... the model ..."
        self._prediction: object = None
        self._check.on_click(self._on_check)
        self._reveal.on_click(self._on_reveal)
        self._new.on_click(self._on_new)
        self._answer_text.observe(lambda _: self._on_check(None), names="value")
        super().__init__(
            [
                self._title,
                self._figure,
                self._question,
                self._answer_box,
                w.HBox([self._check, self._reveal, self._new]),
                self._feedback,
                self._truth,
                self._solution,
            ],
            layout=w.Layout(border="1px solid #bbb", padding="0.5em 1em", margin="0.5em 0"),
        )
        self.add_class("labkit-exercise")
        self._show_variant()

    @property
    def exercise(self) -> Exercise:
        return self._ex

    def _answer(self) -> object:
        if self._ex.variant.is_choice:
            return self._answer_choice.index
        return self._answer_text.value

    def _show_variant(self) -> None:
        v = self._ex.variant
        title = html.escape(self._ex.title or "Exercise")
        self._title.value = f"<b>{title}</b> <small>(seed {self._ex.seed})</small>"
        self._question.value = _inline_markdown(v.question)
        self.figure = v.figure() if v.figure is not None and not v.predict else None
        self._figure.children = [self.figure] if self.figure is not None else []
        self.answer_view = None
        self._truth.value = ""
        self._prediction = None
        if v.is_choice:
            labels = [f"{chr(65 + i)}. {c}" for i, c in enumerate(v.choices)]
            self._answer_choice.options = labels
            self._answer_choice.value = None
            self._answer_box.children = [self._answer_choice]
        else:
            self._answer_text.value = ""
            self._unit.value = html.escape(v.unit)
            self._answer_box.children = [self._answer_text, self._unit]
        self._feedback.value = ""
        self._solution.value = ""
        self._reveal.description = "Reveal"

    def _on_check(self, _button) -> None:
        answer = self._answer()
        if answer is None or answer == "":
            self._feedback.value = "<i>Type or pick an answer first.</i>"
            return
        text = self._ex.feedback(answer)
        colour = "#009E73" if self._ex.check(answer) else "#D55E00"
        mark = "&#10004;" if self._ex.check(answer) else "&#10008;"
        self._feedback.value = (
            f"<span class='labkit-feedback' style='color:{colour}'>{mark} "
            f"{html.escape(text)}</span>"
        )
        self._show_truth(answer)

    def _on_reveal(self, _button) -> None:
        if self._solution.value:
            self._solution.value = ""
            self._reveal.description = "Reveal"
            return
        self._solution.value = (
            "<div class='labkit-solution' style='background:#f4f4f4;padding:0.3em 0.8em'>"
            + _inline_markdown(self._ex.reveal())
            + "</div>"
        )
        self._reveal.description = "Hide"
        self._show_truth(None)

    def _show_truth(self, answer: object) -> None:
        """A prediction's figure, once the learner has committed (Check) or given up (Reveal):
        the run behind the answer (the model's, or real Go's: Variant.shows), under a line
        setting the prediction (the last one checked) beside the answer."""
        from labkit.exercises.seeded import _show, _unit

        v = self._ex.variant
        if not v.draws_answer:
            return
        if answer is not None:
            self._prediction = answer
        if v.predict and self.figure is None:
            self.figure = v.figure()
            self._figure.children = [self.figure]
        elif v.answer_figure is not None and self.answer_view is None:
            self.answer_view = v.answer_figure()  # under the evidence, which stays
            self._figure.children = [*self._figure.children, self.answer_view]
        said = self._prediction
        if v.is_choice:
            model = v.choices[int(v.answer)]
            said = v.choices[self._ex._choice_index(said)] if said is not None else None
        else:
            model = _show(float(v.answer), _unit(v.unit))
        # The key may be the drawn run's own figure or a formula the figure plots beside the
        # run (lab 4's hockey stick): say "the answer", and that the run is drawn, not that the
        # run is the number.
        mine = f"You predicted <b>{html.escape(str(said))}</b>; the" if said is not None else "The"
        shows = html.escape(v.shows[:1].upper() + v.shows[1:], quote=False)
        self._truth.value = (
            f"<div class='labkit-truth'>{mine} answer: <b>{html.escape(model)}</b>. {shows} "
            "is drawn above.</div>"
        )

    def _on_new(self, _button) -> None:
        self._ex.new_variant()
        self._show_variant()

    def picture(self) -> str:
        """A still of the question: its figure, the question and the choices (SVG)."""
        from labkit.exercises.seeded import FIGURE_NOTE
        from labkit.widgets.panel import Panel
        from labkit.widgets.picture import picture

        text = w.HTML(_inline_markdown(self._ex.text().replace(FIGURE_NOTE, "")))
        return picture(
            Panel([self.figure, text]),
            caption=f"A still of this exercise ({self._ex.title or 'Exercise'}) as the notebook "
            "last ran it; run the notebook to answer it.",
        )

    # Python-side driving, for tests and for instructors' notebooks.
    def answer(self, value: object) -> str:
        """Enter ``value`` as the learner would and press Check; returns the feedback text."""
        if self._ex.variant.is_choice:
            self._answer_choice.index = self._ex._choice_index(value)
        else:
            self._answer_text.value = str(value)
        self._on_check(None)
        return self._ex.feedback(value)

    @property
    def feedback_html(self) -> str:
        return self._feedback.value

    @property
    def solution_html(self) -> str:
        return self._solution.value

    def press_reveal(self) -> None:
        self._on_reveal(None)

    def press_new_variant(self) -> None:
        self._on_new(None)
