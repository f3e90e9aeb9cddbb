"""No function in labkit is longer than about 80 lines without a reason written beside it
(#14, "Done when").

A function's length is counted from its ``def`` line to its last line (decorators not
counted). One longer than ``LIMIT`` passes only if its docstring has a paragraph, or the
comment lines right above its ``def`` (or above its decorators) have a line, starting with
``MARKER`` followed by the reason: what keeps it in one piece, with the benchmark figure when
speed is the reason (see labkit/models/pool/engine.py serve_events).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 80
MARKER = "Why one long function:"
#: A marker with less than this much text after it gives no reason.
MIN_REASON_CHARS = 20


def _has_reason(lines: list[str]) -> bool:
    """True if a line starts with MARKER and a reason follows it (on that line or the next
    lines of the same paragraph)."""
    for k, line in enumerate(lines):
        text = line.strip().removeprefix("#").strip()
        if not text.startswith(MARKER):
            continue
        reason = text[len(MARKER) :].strip()
        for more in lines[k + 1 :]:
            more = more.strip().removeprefix("#").strip()
            if not more:
                break
            reason += " " + more
        if len(reason) >= MIN_REASON_CHARS:
            return True
    return False


def _comments_above(source_lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef):
    """The contiguous comment lines right above the function's first decorator or ``def``."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    out: list[str] = []
    k = first - 2  # 0-based index of the line above
    while k >= 0 and source_lines[k].strip().startswith("#"):
        out.insert(0, source_lines[k])
        k -= 1
    return out


def long_functions_without_reason(source: str, path: str = "<source>") -> list[str]:
    """``path:line name (N lines)`` for every function of ``source`` longer than LIMIT lines
    whose docstring or comments right above it give no reason (see the module docstring)."""
    tree = ast.parse(source, filename=path)
    source_lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        if length <= LIMIT:
            continue
        doc = (ast.get_docstring(node) or "").splitlines()
        if _has_reason(doc) or _has_reason(_comments_above(source_lines, node)):
            continue
        found.append(f"{path}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_long_function_without_a_reason():
    found = []
    for path in sorted((ROOT / "labkit").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found += long_functions_without_reason(path.read_text(encoding="utf-8"), rel)
    assert not found, (
        f"functions longer than {LIMIT} lines with no reason beside them: split them into "
        f"well-named pieces, or write why they stay whole in a docstring paragraph starting "
        f"{MARKER!r} (with the benchmark figure if speed is why):\n" + "\n".join(found)
    )


def _long(header: str = "", doc: str = "", lines: int = LIMIT) -> str:
    """A function of ``lines`` lines (def to end), with ``header`` above its def and ``doc``
    as its docstring."""
    body = [f"    x{k} = {k}" for k in range(lines - 1 - (1 if doc else 0))]
    if doc:
        body.insert(0, f'    """{doc}"""')
    return textwrap.dedent(header) + "def long():\n" + "\n".join(body) + "\n"


def test_check_passes_a_function_of_exactly_the_limit():
    assert long_functions_without_reason(_long(lines=LIMIT)) == []


@pytest.mark.parametrize(
    "source",
    [
        _long(lines=LIMIT + 1),
        _long(lines=120, doc="Serve the events. Long, but nobody said why."),
        # the marker with no reason after it
        _long(lines=120, doc=f"Serve the events.\n\n    {MARKER}\n    "),
        # the marker inside a sentence is no reason paragraph
        _long(lines=120, doc=f"Serve the events; see {MARKER} in engine.py for one."),
        # a comment with the reason, but not right above the def (a blank line between)
        _long("# " + MARKER + " its locals are read on every event of the loop.\n\n", lines=120),
        _long(
            "class Model:\n    pass\n\n\n",
            lines=200,
            doc="A method-less long function in a module with a class.",
        ),
    ],
    ids=["limit+1", "no-marker", "empty-reason", "marker-mid-line", "detached-comment", "class"],
)
def test_check_fails_on_a_long_function_without_a_reason(source):
    found = long_functions_without_reason(source, "synthetic.py")
    assert len(found) == 1 and found[0].startswith("synthetic.py:") and " long (" in found[0]


def test_check_finds_a_long_method_and_nested_function():
    method = "class A:\n" + textwrap.indent(_long(lines=90), "    ")
    assert long_functions_without_reason(method) == ["<source>:2 long (90 lines)"]
    nested = "def outer():\n" + textwrap.indent(_long(lines=90), "    ") + "    return long\n"
    assert sorted(long_functions_without_reason(nested)) == [
        "<source>:1 outer (92 lines)",
        "<source>:2 long (90 lines)",
    ]


@pytest.mark.parametrize(
    "source",
    [
        _long(
            lines=120,
            doc=f"Serve the events.\n\n    {MARKER} its locals are read on every event; split, "
            "it ran 12 % slower (bench_x.py).\n    ",
        ),
        _long("# " + MARKER + " its locals are read on every event of the loop.\n", lines=120),
        _long("# " + MARKER + "\n# its locals are read on every event of the loop.\n", lines=120),
        _long("# " + MARKER + " every event reads its locals.\n@decorator\n", lines=120),
    ],
    ids=["docstring", "comment", "comment-two-lines", "comment-above-decorator"],
)
def test_check_accepts_a_written_reason(source):
    assert long_functions_without_reason(source) == []
