"""A property test that asks for everything the suite's hypothesis policy forbids: a random seed
(``derandomize=False``), an example database and a 1 ms deadline. It writes each example it is
given to $PROBE_OUT, and fails on purpose when $PROBE_FAIL is set (so a database, if one were
used, would save the failure). tests/test_hypothesis_policy.py runs it in a subprocess to prove
that tests/conftest.py overrides per-test settings; it lives under tests/data/, which pytest
does not collect on its own.
"""

from __future__ import annotations

import os
import time

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase


@settings(
    derandomize=False,
    database=DirectoryBasedExampleDatabase(os.environ.get("PROBE_DB", ".probe-db")),
    deadline=1,
    max_examples=5,
)
@given(st.integers())
def test_probe(x):
    with open(os.environ["PROBE_OUT"], "a") as out:
        out.write(f"{x}\n")
    time.sleep(0.005)  # five times the deadline this test asks for
    assert not os.environ.get("PROBE_FAIL") or x < 1000
