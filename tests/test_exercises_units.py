"""labkit.units and the exercises' answer reading: a unit is converted, a wrong kind refused.

The numbers are worked by hand: 1 MiB = 1,048,576 bytes, 1 MB = 1,000,000 bytes.
"""

from __future__ import annotations

import re

import pytest

from labkit.exercises.seeded import Exercise, numeric, parse_number
from labkit.units import UnitError, convert, parse_quantity, unit


@pytest.mark.parametrize(
    ("text", "target", "value"),
    [
        ("17.17", "ms", 17.17),  # a bare number is in the question's unit
        ("17.17 ms", "ms", 17.17),
        ("17.17ms", "ms", 17.17),
        ("0.01717 s", "ms", 17.17),
        ("17170 us", "ms", 17.17),
        ("17170 µs", "ms", 17.17),  # MICRO SIGN
        ("17170 μs", "ms", 17.17),  # GREEK SMALL LETTER MU
        ("17,170,000 ns", "ms", 17.17),
        ("2 seconds", "ms", 2000.0),
        ("3 MiB", "MiB", 3.0),
        ("3072 KiB", "MiB", 3.0),
        ("3,145,728 B", "MiB", 3.0),
        ("3145728 bytes", "MiB", 3.0),
        ("1 GiB", "MiB", 1024.0),
        ("1048.576 kB", "MiB", 1.0),
        ("1.048576 MB", "MiB", 1.0),
        ("1 GB", "MiB", 1e9 / 2**20),
        ("2.4 GC/s", "cycles/s", 2.4),
        ("2.4/s", "cycles/s", 2.4),
        ("2.4 Hz", "cycles/s", 2.4),
        ("2.4 1/s", "cycles/s", 2.4),
        ("0.0024 cycles/ms", "cycles/s", 2.4),
        ("2.4 cycles per second", "cycles/s", 2.4),
        ("5 %", "%", 5.0),
        ("5 percent", "%", 5.0),
        ("12 threads", "threads", 12.0),
        ("1 thread", "threads", 1.0),
        ("387 goroutines", "", 387.0),  # a plain-number question takes any count
        ("1,000", "", 1000.0),
        ("2e3", "", 2000.0),
        ("~7.9 MiB", "MiB", 7.9),
        ("−3", "", -3.0),  # a typographic minus
    ],
)
def test_answers_are_converted_to_the_questions_unit(text, target, value):
    assert parse_number(text, target) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "target", "message"),
    [
        ("17.170 GiB", "ms", "17.170 GiB is a size; this question asks for a time in ms"),
        ("17.170 s", "MiB", "17.170 s is a time; this question asks for a size in MiB"),
        ("5 %", "ms", "5 % is a percentage; this question asks for a time in ms"),
        ("2.4/s", "ms", "2.4/s is a rate; this question asks for a time in ms"),
        ("12 goroutines", "threads", "12 goroutines is a count of goroutines; this question "),
        ("2 frames/s", "cycles/s", "2 frames/s is a rate of frames; this question asks for a rate"),
        ("14.5 ms", "", "14.5 ms is a time; this question asks for a plain number"),
        ("3 parsecs", "ms", "unknown unit 'parsecs'"),
        ("17,17", "ms", "write decimals with a point"),
        ("fourteen", "ms", "not a number"),
    ],
)
def test_a_wrong_kind_of_unit_is_refused_with_a_message_that_names_it(text, target, message):
    with pytest.raises(UnitError, match=re.escape(message)):
        parse_number(text, target)


def test_decimal_megabytes_are_a_different_unit_from_mebibytes():
    # 1920 x 1080 x 4 bytes = 8,294,400 bytes = 7.91 MiB = 8.29 MB.
    assert parse_number("8.2944 MB", "MiB") == pytest.approx(8_294_400 / 2**20)
    assert parse_number("8.2944", "MiB") == pytest.approx(8.2944)  # typed as MiB: 4.9 % high
    assert convert(1.0, unit("MB"), unit("MiB")) == pytest.approx(0.95367431640625)


def test_units_are_read_whatever_their_case_and_plural():
    assert unit("mib").factor == unit("MiB").factor == 2**20
    assert unit("Threads").noun == unit("thread").noun == "thread"
    assert unit("MS").factor == unit("ms").factor == 1e-3
    assert parse_quantity("4 secs") == (4.0, unit("secs"))


def _ms_question(rng):
    return numeric("How long?", 17.17, "Because.", unit="ms", rel_tol=0.0, abs_tol=0.05)


def test_check_converts_and_feedback_shows_the_converted_value():
    ex = Exercise(_ms_question, seed=0)
    assert ex.check("17.17") and ex.check("17.17 ms") and ex.check("0.01717 s")
    assert ex.feedback("0.01717 s") == "Right. (0.01717 s = 17.17 ms)"
    assert ex.feedback("17.17") == "Right."
    # the right digits in the wrong unit are wrong, and the feedback says what they mean
    assert not ex.check("17.17 s")
    assert ex.feedback("17.17 s") == "Not quite: 17.17 s = 17,170 ms is too high."
    assert not ex.check("17.17 GiB")
    assert ex.feedback("17.17 GiB") == (
        "Could not read that: 17.17 GiB is a size; this question asks for a time in ms."
    )


def _range_question(rng):
    return numeric(
        "When?",
        14.17,
        "Because.",
        unit="ms",
        rel_tol=0.0,
        abs_tol=0.1,
        also=[(12.0, 19.5, "what real runs show")],
    )


def test_an_accepted_range_is_right_and_says_why_and_nothing_outside_it_is():
    ex = Exercise(_range_question, seed=0)
    assert ex.check(14.17) and ex.check(12.0) and ex.check("0.0195 s")
    assert ex.feedback(12.5) == "Right. That is what real runs show."
    assert not ex.check(11.9) and not ex.check(19.6)
    assert ex.feedback(11.0) == "Not quite: 11 ms is too low."
    assert "Also right: 12 ms to 19.5 ms (what real runs show)" in ex.reveal()


def test_an_exercise_with_a_unit_labkit_does_not_know_fails_when_it_is_defined():
    with pytest.raises(ValueError, match="unit is not one labkit.units knows"):
        numeric("?", 1.0, "", unit="furlongs")
    with pytest.raises(ValueError, match="lo <= hi"):
        numeric("?", 1.0, "", also=[(2.0, 1.0, "backwards")])
