"""Load every file of a corpus with labkit.profiles and with independent readers; print a table.

    .venv/bin/python scripts/check_readers_corpus.py DIR... [--top 20] [--go GO]

For each file under the folders (recursively, in name order):

* ``go tool pprof -raw`` says whether pprof reads it, its sample types and each type's total;
  ``go tool pprof -top`` (every node, values in the file's units) its functions. A file pprof reads
  *agrees* when labkit loads it with the same sample types and totals and the same first
  ``--top`` rows (function, flat, cum) for every sample type;
* Go's ``?debug=1`` text names its frames in ``#\tPC\tFUNCTION+OFF\tFILE:LINE`` lines that
  pprof skips (without the binary it shows every address as ``<unknown>``) and labkit reads:
  such a file agrees on its totals (``agree-totals``); tests/test_profile_artefacts.py compares
  its functions with the protobuf profile Go wrote from the same records;
* a text with goroutine headers is counted independently: every line matching
  ``goroutine N [`` (after any indentation, with GOTRACEBACK's ``gp= m= mp=``) is one goroutine,
  and the text up to ``]`` or the first ``,`` its state. Such a file agrees when labkit finds as
  many goroutines with the same states (as multisets);
* a race detector report (``WARNING: DATA RACE``) agrees when labkit finds one goroutine per
  ``Read/Write at ... by goroutine N:`` line, with the same goroutine numbers;
* folded stacks (every line ``a;b;c COUNT``) are summed per stack independently;
* a file neither reads is *rejected*, with labkit's message.

Goroutine dumps that live inside Go test sources (panicparse's stack/context_test.go writes
each as ``in: []string{"line", ...}``; its internaltest holds raw-string constants) are taken
out of any ``*.go`` file given: every ``in: []string{...}`` of plain string literals (joined
with newlines, as panicparse's tests join them) and every backquoted literal holding a goroutine
header or race report is one item, named ``FILE#N``.

Nothing here is committed from the corpora: run it on copies checked out of the fetched
repositories (``git --git-dir=... show COMMIT:path > /tmp/corpus/...``).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import regen_profiles  # noqa: E402  (scripts/ is not a package)

from labkit.profiles import ProfileError, load_profile  # noqa: E402

#: The independent goroutine-header count (deliberately not labkit's regular expression).
HEADER = re.compile(r"^[ \t]*goroutine (\d+) (?:gp=\S+ )?(?:m=\S+ )?(?:mp=\S+ )?\[([^\],]*)")
#: An access line of a race report, counted independently ("main goroutine" is goroutine 1).
RACE = re.compile(
    r"^(?:Previous )?(?:[Aa]tomic )?(?:[Rr]ead|[Ww]rite)\b.* by (?:goroutine (\d+)|main goroutine):$"
)
_IN_LIST = re.compile(r"\bin:\s*\[\]string\{(.*?)\n\t*\},", re.S)
_RAW = re.compile(r"`([^`]*)`", re.S)
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_UNIT_FLAG = {"nanoseconds": "ns", "microseconds": "us", "milliseconds": "ms", "bytes": "B"}
_TOP_HEADER = re.compile(r"^\s*flat\s+flat%\s+sum%\s+cum\s+cum%\s*$")
_TOP_ROW = re.compile(r"^\s*(\S+)\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(.+?)\s*$")
_VALUE = re.compile(r"^(-?\d+(?:\.\d+)?)([a-zA-Z]*)$")
_INLINE = re.compile(r" \((?:partial-)?inline\)$")
_GO_FRAME = re.compile(r"^#\t+0x[0-9a-f]+\t", re.M)


def go_items(path: Path) -> list[tuple[str, bytes]]:
    """Goroutine dumps written as string literals in a Go source (see the module docstring)."""
    source = path.read_text(errors="replace")
    items = []
    for match in _IN_LIST.finditer(source):
        body = match.group(1)
        literals = _STRING.findall(body)
        rest = _STRING.sub("", body).replace(",", "").split()
        if rest or not literals:
            continue  # an expression (strings.Repeat ...): not a plain list of lines
        lines = [ast.literal_eval(lit) for lit in literals]
        text = "\n".join(lines)
        if _dump_or_race(text):
            items.append((f"{path}#{len(items) + 1}", text.encode()))
    for match in _RAW.finditer(source):
        text = match.group(1)
        if _dump_or_race(text):
            items.append((f"{path}#{len(items) + 1}", text.encode()))
    return items


def _dump_or_race(text: str) -> bool:
    lines = text.split("\n")
    return any(HEADER.match(line) or RACE.match(line.strip()) for line in lines)


def corpus(dirs: list[Path]) -> list[tuple[str, bytes]]:
    items: list[tuple[str, bytes]] = []
    for d in dirs:
        files = sorted(p for p in (d.rglob("*") if d.is_dir() else [d]) if p.is_file())
        for p in files:
            if p.suffix == ".go":
                items += go_items(p)
            else:
                items.append((str(p), p.read_bytes()))
    return items


def pprof(go: str, path: Path, *args: str) -> tuple[bool, str]:
    env = regen_profiles.go_env()
    env["PPROF_BINARY_PATH"] = "/nonexistent"  # never symbolize with a local binary
    done = subprocess.run(
        [go, "tool", "pprof", *args, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    return done.returncode == 0, done.stdout if done.returncode == 0 else done.stderr


def raw_summary(text: str) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Sample types and totals from ``go tool pprof -raw``."""
    lines = text.splitlines()
    start = lines.index("Samples:")
    types = [tuple(t.removesuffix("[dflt]").split("/", 1)) for t in lines[start + 1].split()]
    totals = [0] * len(types)
    for line in lines[start + 2 :]:
        if not line.startswith(" "):
            break
        fields = line.partition(":")[0].split()
        if len(fields) == len(types) and all(re.fullmatch(r"-?\d+", f) for f in fields):
            totals = [t + int(v) for t, v in zip(totals, fields, strict=True)]
    return types, {t: v for (t, _), v in zip(types, totals, strict=True)}


def top_rows(text: str) -> list[tuple[str, int, int]]:
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _TOP_HEADER.match(line)]
    rows = []
    for line in lines[starts[0] + 1 :] if starts else []:
        match = _TOP_ROW.match(line)
        if not match:
            continue
        flat, cum, name = match.groups()
        rows.append((_INLINE.sub("", name), _number(flat), _number(cum)))
    return rows


def _number(text: str) -> int:
    match = _VALUE.match(text)
    return round(float(match.group(1))) if match else 0


def check(go: str, name: str, data: bytes, tmp: Path, n_top: int) -> tuple[str, str, str, str]:
    """(pprof's answer, labkit's, verdict, detail) for one item."""
    path = Path(name)
    if "#" in name or not path.is_file():
        path = tmp / "item"
        path.write_bytes(data)
    try:
        profile = load_profile(data, name=name)
        mine, error = profile.format, ""
    except ProfileError as exc:
        profile, mine, error = None, "rejected", str(exc)
    ok, raw = pprof(go, path, "-raw")
    text = data.decode("utf-8", errors="replace")
    headers = [m for m in (HEADER.match(line) for line in text.split("\n")) if m]
    if ok:
        types, totals = raw_summary(raw)
        if profile is None:
            return "reads", mine, "DISAGREE", f"labkit: {error}"
        if profile.sample_types != types:
            return "reads", mine, "DISAGREE", f"types {profile.sample_types} vs pprof {types}"
        mine_totals = {t: profile.total(t) for t, _ in types}
        if mine_totals != totals:
            return "reads", mine, "DISAGREE", f"totals {mine_totals} vs pprof {totals}"
        if _GO_FRAME.search(text):
            # Go's ?debug=1 text: pprof skips the '#' frame lines and, without the binary,
            # shows every address as <unknown>; labkit names the frames from those lines.
            return "reads", mine, "agree-totals", "types, totals equal; frames named from '#' lines"
        for t, unit in types:
            flag = [f"-unit={_UNIT_FLAG[unit]}"] if unit in _UNIT_FLAG else []
            args = ["-top", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0"]
            _, out = pprof(go, path, *args, f"-sample_index={t}", *flag)
            expected = top_rows(out)[:n_top]
            got = profile.top(n_top, t)
            if got != expected:
                diff = next(
                    (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                    min(len(got), len(expected)),
                )
                return (
                    "reads",
                    mine,
                    "DISAGREE",
                    (
                        f"top[{t}] row {diff}: labkit "
                        f"{got[diff] if diff < len(got) else None} vs pprof "
                        f"{expected[diff] if diff < len(expected) else None}"
                    ),
                )
        return "reads", mine, "agree", f"{len(types)} types, top {n_top} equal"
    if headers:
        counted = Counter(m.group(2).strip() for m in headers)
        if profile is None:
            return "rejects", mine, "DISAGREE", f"{len(headers)} headers; labkit: {error}"
        got = Counter(g.state for g in profile.goroutines)
        if got != counted:
            return "rejects", mine, "DISAGREE", f"states {dict(got)} vs counted {dict(counted)}"
        skipped = f", {profile.skipped_lines} lines skipped" if profile.skipped_lines else ""
        return "rejects", mine, "agree", f"{len(headers)} goroutines, states equal{skipped}"
    races = [m for m in (RACE.match(line.strip()) for line in text.split("\n")) if m]
    if races:
        counted = Counter(int(m.group(1) or 1) for m in races)
        if profile is None:
            return "rejects", mine, "DISAGREE", f"{len(races)} race accesses; labkit: {error}"
        if Counter(g.id for g in profile.goroutines) != counted:
            return "rejects", mine, "DISAGREE", f"race accesses by goroutine differ: {counted}"
        return "rejects", mine, "agree", f"{len(races)} race accesses, goroutines equal"
    folded = [line.rsplit(" ", 1) for line in text.splitlines() if line.strip()]
    if folded and all(len(f) == 2 and f[1].isdigit() for f in folded):
        # Folded stacks (flamegraph.pl's input): each line's last field is its count.
        expected: Counter[tuple[str, ...]] = Counter()
        for stack, count in folded:
            expected[tuple(stack.split(";"))] += int(count)
        if profile is None:
            return "rejects", mine, "DISAGREE", f"{len(folded)} folded lines; labkit: {error}"
        if Counter(profile.stacks()) != +expected:
            return "rejects", mine, "DISAGREE", "folded stacks differ from the lines' sums"
        return "rejects", mine, "agree", f"{len(expected)} folded stacks, total {profile.total()}"
    if profile is not None:
        return "rejects", mine, "labkit only", f"total {profile.total()}"
    return "rejects", mine, "rejected", error[:160]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=20, help="rows of -top compared")
    parser.add_argument("--go", default=None, help="the go command (default: as regen_profiles)")
    args = parser.parse_args(argv)
    go = args.go or regen_profiles.find_go()
    if go is None:
        print("no Go toolchain")
        return 1
    items = corpus(args.dirs)
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'file':58} {'bytes':>8} {'pprof':8} {'labkit':20} {'verdict':12} detail")
        for name, data in items:
            shown = os.path.relpath(name) if "#" not in name else name
            shown = shown if len(shown) <= 58 else "..." + shown[-55:]
            answer, mine, verdict, detail = check(go, name, data, Path(tmp), args.top)
            counts[verdict] += 1
            print(f"{shown:58} {len(data):>8} {answer:8} {mine:20} {verdict:12} {detail}")
    print(
        f"\n{len(items)} files: {counts['agree']} agree, {counts['agree-totals']} agree on "
        f"totals (Go ?debug=1 text), {counts['DISAGREE']} disagree, "
        f"{counts['rejected']} rejected by both, {counts['labkit only']} read by labkit only"
    )
    return 1 if counts["DISAGREE"] else 0


if __name__ == "__main__":
    sys.exit(main())
