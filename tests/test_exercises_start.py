"""Chapter 0's answer keys against sizes and ratios worked by hand, for seeds 0-19."""

from __future__ import annotations

import pytest

from labkit.exercises import start
from labkit.exercises.seeded import Exercise

SEEDS = range(20)

#: width x height x 4 bytes (image.RGBA's Pix), in MiB, worked by hand.
FRAME_MIB = {
    (640, 480): 1.171875,  # 1,228,800 B
    (800, 600): 1.8310546875,  # 1,920,000 B
    (1024, 768): 3.0,  # 3,145,728 B
    (1280, 720): 3.515625,  # 3,686,400 B
    (1600, 900): 5.4931640625,  # 5,760,000 B
    (1920, 1080): 7.91015625,  # 8,294,400 B
}


def test_the_hand_table_covers_every_resolution():
    assert set(FRAME_MIB) == set(start.RESOLUTIONS)


@pytest.mark.parametrize("seed", SEEDS)
def test_frame_size_key_is_the_hand_table(seed):
    e = Exercise(start.frame_size, seed=seed)
    p = e.variant.params
    mib = FRAME_MIB[(p["width"], p["height"])]
    assert e.variant.answer == mib
    assert e.check(f"{mib * 2**20 / 1e6:.4f} MB")  # the same buffer, in decimal megabytes
    assert e.check(f"{mib:.1f}")  # worked to one decimal (640x480: 1.2 for 1.17)


@pytest.mark.parametrize("seed", SEEDS)
def test_gogc_change_key_is_old_over_new(seed):
    """The runway is live x GOGC/100 (mgcpacer.go:1295), so the rate scales by old/new."""
    v = Exercise(start.gogc_change, seed=seed).variant
    p = v.params
    factor = p["old_gogc"] / p["new_gogc"]
    words = {0.25: "quarter", 0.5: "halves", 2.0: "doubles", 4.0: "quadruples"}
    assert words[factor] in v.choices[v.answer]
