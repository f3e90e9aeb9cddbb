"""labkit.exercises.seeded: same seed, same question; right answers pass, wrong ones fail; hidden answers."""

from __future__ import annotations

import pytest

from labkit.exercises.seeded import Exercise, choice, numeric, parse_number


def _times_table(rng):
    a, b = (int(x) for x in rng.integers(2, 13, size=2))
    return numeric(f"{a} x {b} ms of work?", a * b, f"{a} x {b} = {a * b}", unit="ms", rel_tol=0)


def _pick(rng):
    right = int(rng.integers(3))
    return choice(
        "Which?",
        ["first", "second", "third"],
        right,
        "because",
        hints={i: f"not {i}" for i in range(3) if i != right},
    )


def test_same_seed_gives_the_same_question_and_a_new_variant_another():
    a, b = Exercise(_times_table, seed=7), Exercise(_times_table, seed=7)
    assert a.question == b.question and a.variant == b.variant
    first = a.question
    a.new_variant()
    assert a.seed == 8
    questions = {Exercise(_times_table, seed=s).question for s in range(20)}
    assert len(questions) > 5, "seeds must actually vary the question"
    a.new_variant(seed=7)
    assert a.question == first


@pytest.mark.parametrize("seed", range(10))
def test_numeric_check_accepts_the_answer_in_several_spellings(seed):
    ex = Exercise(_times_table, seed=seed)
    right = ex.variant.answer
    assert ex.check(right)
    assert ex.check(f"{right:g} ms")
    assert ex.check(str(right))
    assert not ex.check(right + 1)
    assert not ex.check("no idea")
    assert "too high" in ex.feedback(right + 1)
    assert ex.feedback(right) == "Right."


def test_an_answer_between_two_right_answers_is_neither_too_high_nor_too_low():
    """A key of 10 and an estimate of 7-8 also right: 9 is too high for one and too low for the
    other, so the feedback says it lies between them instead of pointing away from the key."""
    ex = Exercise(
        lambda rng: numeric("?", 10.0, "s", rel_tol=0.01, also=[(7.0, 8.0, "the estimate")]),
        seed=0,
    )
    assert ex.check(10.0) and ex.check(7.5) and not ex.check(9.0)
    assert "falls between two answers that are right" in ex.feedback(9.0)
    assert "too" not in ex.feedback(9.0).split("Hint")[0]
    assert "too low" in ex.feedback(6.0) and "too high" in ex.feedback(11.0)


def test_params_are_kept_for_the_tests_and_not_shown():
    ex = Exercise(lambda rng: numeric("2 + 2?", 4, "Four.", params={"a": 2, "b": 2}), seed=0)
    assert ex.variant.params == {"a": 2, "b": 2}
    assert "'a'" not in ex.text()


def test_tolerance_is_relative_by_default():
    ex = Exercise(lambda rng: numeric("?", 100.0, "s"), seed=0)
    assert ex.check(104.9) and ex.check(95.1)
    assert not ex.check(106) and not ex.check(94)


def test_choice_accepts_index_letter_and_text_and_explains_wrong_picks():
    ex = Exercise(_pick, seed=3)
    right = ex.variant.answer
    wrong = (right + 1) % 3
    assert ex.check(right) and ex.check("ABC"[right]) and ex.check(ex.variant.choices[right])
    assert not ex.check(wrong) and not ex.check("Z") and not ex.check(17)
    assert f"not {wrong}" in ex.feedback(wrong)


def test_shuffled_choices_keep_the_right_text_right_and_each_hint_with_its_choice():
    choices = ["wait for the P", "assist", "STW", "compose"]
    hints = {1: "assist hint", 2: "STW hint", 3: "compose hint"}

    def make(rng, shuffle=True):
        n = int(rng.integers(100))  # the question's own number, drawn before the order
        return choice(
            f"{n}?", choices, 0, "It waits.", hints=hints, shuffle=rng if shuffle else None
        )

    orders = set()
    for seed in range(8):
        v = Exercise(make, seed=seed).variant
        assert v.choices[v.answer] == "wait for the P"
        assert {v.choices[i]: h for i, h in v.hints.items()} == {
            "assist": "assist hint",
            "STW": "STW hint",
            "compose": "compose hint",
        }
        assert v == Exercise(make, seed=seed).variant  # the same seed, the same order
        unshuffled = Exercise(lambda rng: make(rng, shuffle=False), seed=seed).variant
        assert v.question == unshuffled.question  # the order is drawn after the numbers
        orders.add(v.choices)
    assert len(orders) > 1


def test_reveal_gives_the_worked_answer_and_the_text_view_does_not():
    ex = Exercise(_times_table, seed=1, title="Times")
    assert ex.variant.solution in ex.reveal()
    assert ex.variant.solution not in ex.text()
    assert "(answer in ms)" in ex.text()


def test_parse_number_reads_what_learners_type():
    assert parse_number("1,000") == 1000
    assert parse_number(" 2e3 ") == 2000
    assert parse_number("14.5 ms", "ms") == 14.5
    assert parse_number("0.0145 s", "ms") == pytest.approx(14.5)
    with pytest.raises(ValueError, match="not a number"):
        parse_number("fourteen")
    with pytest.raises(ValueError, match="is a time; this question asks for a plain number"):
        parse_number("14.5 ms")  # a question without a unit asks for a plain number


def test_bad_exercise_definitions_fail_clearly():
    with pytest.raises(ValueError, match="answer must index choices"):
        choice("?", ["a", "b"], 2, "")
    with pytest.raises(ValueError, match="finite"):
        numeric("?", float("nan"), "")
    with pytest.raises(TypeError, match="must return a Variant"):
        Exercise(lambda rng: 42)


def test_widget_checks_and_reveals_only_on_request():
    widget = Exercise(_times_table, seed=2, title="Times").widget()
    right = widget.exercise.variant.answer
    assert widget.solution_html == "", "the worked answer must not be in the widget's state"
    assert widget.answer(right + 3).startswith("Not quite")
    assert "&#10008;" in widget.feedback_html
    assert widget.answer(right) == "Right."
    assert "&#10004;" in widget.feedback_html
    widget.press_reveal()
    assert "labkit-solution" in widget.solution_html
    widget.press_new_variant()
    assert widget.solution_html == "" and widget.feedback_html == ""
    assert widget.exercise.seed == 3


def test_exercise_displays_as_a_widget_with_a_plain_text_fallback():
    ex = Exercise(_pick, seed=0, title="Pick")
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Pick (seed 0)")
    assert "A. first" in bundle["text/plain"]


# ---------------------------------------------------------------- predict, then see


def _prediction(rng):
    def figure():
        import ipywidgets as w

        return w.HTML("the model's run")

    return numeric("How many?", 3, "Three.", figure=figure, predict=True, rel_tol=0.0)


def test_a_predictions_figure_stays_hidden_until_the_learner_commits():
    view = Exercise(_prediction, seed=0).widget()
    assert view.figure is None and view._figure.children == ()
    view.answer(5)  # a wrong prediction still earns the truth
    assert view.figure is not None and view._figure.children == (view.figure,)
    assert "You predicted <b>5</b>; the answer: <b>3</b>. The model's run" in view._truth.value
    view.press_reveal()  # the worked answer keeps the prediction beside the model's value
    assert "You predicted <b>5</b>" in view._truth.value


def test_reveal_shows_a_predictions_figure_too_and_a_new_variant_hides_it_again():
    view = Exercise(_prediction, seed=0).widget()
    view.press_reveal()
    assert view.figure is not None and "The model's run" in view._truth.value
    view.press_new_variant()
    assert view.figure is None and view._truth.value == ""


def test_a_predictions_still_does_not_give_the_answer_away():
    """The committed output of a prediction is its question as text: no picture of the run."""
    ex = Exercise(_prediction, seed=0)
    bundle = ex._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert "predict first" in bundle["text/plain"]


def test_a_prediction_needs_the_figure_that_answers_it():
    with pytest.raises(ValueError, match="predict=True needs the figure"):
        numeric("How many?", 3, "Three.", predict=True)


def _real_go_prediction(rng):
    def figure():
        import ipywidgets as w

        return w.HTML("a trace")

    return numeric(
        "How many?", 3, "Three.", figure=figure, predict=True, shows="Go's own trace of the run"
    )


def test_a_prediction_says_what_its_figure_is():
    """A key read from a real run says so under the figure, and in the text before Check."""
    ex = Exercise(_real_go_prediction, seed=0)
    assert "(predict first: Go's own trace of the run is drawn" in ex.text()
    view = ex.widget()
    view.answer(3)
    assert "Go's own trace of the run is drawn above" in view._truth.value
    assert "model" not in view._truth.value
    assert "(predict first: the model's run is drawn" in Exercise(_prediction, seed=0).text()
