"""Exercises of chapters/00-start-here.ipynb: frame sizes and the GC pacer, by hand."""

from __future__ import annotations

import numpy as np

from labkit.exercises.seeded import Variant, choice, numeric

MIB = 1 << 20

# Common dashboard and display resolutions (width, height).
RESOLUTIONS = ((640, 480), (800, 600), (1024, 768), (1280, 720), (1600, 900), (1920, 1080))


def frame_size(rng: np.random.Generator) -> Variant:
    """Size of one RGBA frame buffer: width x height x 4 bytes (image.RGBA's Pix slice)."""
    width, height = RESOLUTIONS[rng.integers(len(RESOLUTIONS))]
    fps = int(rng.choice([30, 60, 120]))
    mib = width * height * 4 / MIB
    return numeric(
        f"A dashboard renders each frame into a fresh `image.NewRGBA` of {width}x{height} "
        f"pixels at {fps} fps. How many MiB does one frame's pixel buffer take?",
        mib,
        f"image.RGBA stores 4 bytes per pixel (R, G, B, A) in its Pix slice: "
        f"{width} x {height} x 4 = {width * height * 4:,} bytes = {mib:.2f} MiB "
        f"(1 MiB = 1,048,576 bytes; the same buffer is {width * height * 4 / 1e6:.2f} MB in "
        "decimal megabytes, a different unit: typed as MiB, that number is 4.9 % too high). "
        f"At {fps} fps that is {mib * fps:.0f} MiB of new heap "
        "every second, all of which the GC must eventually reclaim.",
        unit="MiB",
        rel_tol=0.02,
        abs_tol=0.05,  # an answer to one decimal is right (1.2 for 640x480's 1.17 MiB)
        hint="4 bytes per pixel; 1 MiB is 1024 x 1024 bytes.",
        params={"width": width, "height": height, "fps": fps},
    )


def gogc_change(rng: np.random.Generator) -> Variant:
    """How the GC rate responds to GOGC: the runway (goal - live) scales with GOGC."""
    from labkit.models.gcpacer import heap_goal_bytes

    live_mib = int(rng.choice([64, 128, 256]))
    old, new = 100, int(rng.choice([50, 200, 400]))
    rate = lambda gogc: 1.0 / (heap_goal_bytes(live_mib * MIB, gogc=gogc) - live_mib * MIB)  # noqa: E731
    factor = rate(new) / rate(old)
    options = {
        0.25: "It falls to a quarter",
        0.5: "It halves",
        1.0: "It stays the same",
        2.0: "It doubles",
        4.0: "It quadruples",
    }
    keys = sorted(options)
    right = min(range(len(keys)), key=lambda i: abs(keys[i] - factor))
    return choice(
        f"A service keeps {live_mib} MiB of live heap and allocates at a steady rate. "
        f"You change GOGC from {old} to {new}. What happens to the number of GC cycles per second?",
        [options[k] for k in keys],
        right,
        "The pacer's heap goal is live + live x GOGC/100 (gcControllerState.commit, "
        "mgcpacer.go:1295), so the runway the program may allocate before the next cycle is "
        "live x GOGC/100: "
        f"{live_mib * old // 100} MiB at GOGC={old}, {live_mib * new // 100} MiB at GOGC={new}. "
        f"Cycles per second = allocation rate / runway, so the rate changes by "
        f"{old}/{new} = x{factor:.2g}. The price is memory: the heap peaks near the goal.",
        hints={
            i: "Cycles per second = allocation rate / (heap goal - live heap)."
            for i in range(len(keys))
            if i != right
        },
        params={"live_mib": live_mib, "old_gogc": old, "new_gogc": new},
    )
