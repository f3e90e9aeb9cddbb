"""Test-session set-up shared by every test: keep Jupyter, IPython, Go and Chromium state out of
the home directory even when pytest is run directly rather than through ``course.py test``; and
one hypothesis policy for every property test (every ``@given`` in tests/).

The policy: ``python3 course.py test`` and CI run derandomized (each test's examples come from a
seed fixed by the test's own code, ``derandomize=True``), with no example database and no
deadline (timing is never asserted), so a red run is the code's fault and reruns the same way.
``python3 course.py explore`` loads the ``explore`` profile instead (``--hypothesis-profile
explore``): random seeds (``--hypothesis-seed``), ``--explore-examples`` examples per test.

Per-test ``@settings(...)`` cannot undo the policy: hypothesis resolves a test's settings once,
when the module is imported, and a value the test names (``derandomize=True``, a
``max_examples``) beats any profile. So at collection this file rebuilds each ``@given`` test's
settings on top of its own with the policy's values, and marks the test ``property`` (``-m
property`` selects them). A test keeps its own ``max_examples`` (sized for speed) except in
``explore``, and its own health checks. tests/test_hypothesis_policy.py proves each rule on a
probe test that asks for the opposite.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, is_hypothesis_test, settings

ROOT = Path(__file__).resolve().parents[1]

#: What every property test runs with, whatever its own @settings say.
POLICY = {"database": None, "deadline": None}
#: The suite's default: the same examples on every run and every machine.
CI_PROFILE = "ci"
#: Random seeds and many examples, for ``python3 course.py explore``.
EXPLORE_PROFILE = "explore"
EXPLORE_EXAMPLES = 200

# too_slow judges data generation against the wall clock: never on a loaded 2-core machine.
settings.register_profile(
    CI_PROFILE,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
    **POLICY,
)
settings.register_profile(
    EXPLORE_PROFILE,
    derandomize=False,
    max_examples=EXPLORE_EXAMPLES,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
    **POLICY,
)
# Loaded here, before any test module is imported, so module-level settings objects inherit it;
# --hypothesis-profile (hypothesis's pytest plugin) loads another one later.
settings.load_profile(CI_PROFILE)


def pytest_addoption(parser):
    parser.addoption(
        "--explore-examples",
        type=int,
        default=None,
        help=f"examples per property test under --hypothesis-profile={EXPLORE_PROFILE} "
        f"(default {EXPLORE_EXAMPLES})",
    )


def pytest_configure(config):
    sys.path.insert(0, str(ROOT))
    try:
        from course import course_env
    finally:
        sys.path.pop(0)
    for key, value in course_env().items():
        if key.startswith(("JUPYTER", "IPYTHON", "GO", "XDG_", "LABKIT_", "MPLCONFIG")):
            os.environ.setdefault(key, value)


def policy_settings(own: settings, examples: int | None = None) -> settings:
    """A property test's settings under the active profile: its own, with the policy's values.

    In the ci profile a test keeps its max_examples; in explore every test runs ``examples``
    (or the profile's count).
    """
    profile = settings.default
    forced = dict(POLICY, derandomize=profile.derandomize)
    if settings.get_current_profile_name() == EXPLORE_PROFILE:
        forced["max_examples"] = examples or profile.max_examples
    return settings(own, **forced)


def pytest_collection_modifyitems(config, items):
    examples = config.getoption("--explore-examples")
    for item in items:
        test = getattr(item, "obj", None)
        if not isinstance(item, pytest.Function) or not is_hypothesis_test(test):
            continue
        item.add_marker(pytest.mark.property)
        test = getattr(test, "__func__", test)  # a bound method's function
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if own is None:
            raise pytest.UsageError(
                f"{item.nodeid}: this hypothesis version keeps a test's settings elsewhere, so "
                "tests/conftest.py cannot apply the suite's policy; update policy_settings()."
            )
        test._hypothesis_internal_use_settings = policy_settings(own, examples)
