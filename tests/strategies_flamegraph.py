"""Hypothesis strategies for the flame-graph model: random stacks dicts shaped like Go profiles."""

from __future__ import annotations

from hypothesis import strategies as st

#: A small alphabet of Go-like function names, so stacks share prefixes and recursion happens.
FUNCTIONS = (
    "main.main",
    "main.work",
    "main.work.func1",
    "main.(*T).Run",
    "net/http.(*conn).serve",
    "github.com/a/b.F",
    "runtime.mallocgc",
    "runtime.gcBgMarkWorker",
    "sync.(*Mutex).Lock",
    "syscall.write",
)

stack = st.lists(st.sampled_from(FUNCTIONS), min_size=0, max_size=7).map(tuple)
stacks = st.dictionaries(stack, st.integers(min_value=1, max_value=1000), min_size=1, max_size=40)
patterns = st.sampled_from(
    [r"^runtime\.", r"main\.work", r"\(\*", "sync|syscall", "^main", "nomatch", r"\.F$"]
)
