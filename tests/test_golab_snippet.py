"""run_go and %%go: the learner's own Go code, built and run with the course's toolchain, traced.

Every failure mode: bad arguments, no toolchain, a compile error (Go's messages, the cell's
line numbers), a non-zero exit, a panic, os.Exit, log.Fatal and a panic in a goroutine (which
cut the trace short), and a run past its time limit (the whole process group stopped). The
temporary module is always removed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from go_toolchain import require_go

from labkit.golab import GoRunError, snippet
from labkit.golab.snippet import GoBuildError, GoRun, SnippetError, run_go

HELLO = """package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Println("hello", runtime.GOMAXPROCS(0), os.Getenv("GODEBUG"))
}
"""


@pytest.fixture(scope="module")
def go() -> str:
    return require_go()


@pytest.fixture
def own_tmp(tmp_path, monkeypatch) -> Path:
    """Temporary directories of the run go here, so a test can see that none is left."""
    base = tmp_path / "tmp"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    return base


# ---- arguments, without Go ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"source": ""}, "source must be"),
        ({"source": "package foo\nfunc main() {}\n"}, "`package foo`"),
        ({"source": "func main() {}\n"}, "no package clause"),
        ({"source": "package main\nfunc helper() {}\n"}, "func main()"),
        ({"source": HELLO, "gomaxprocs": 0}, "gomaxprocs"),
        ({"source": HELLO, "gomaxprocs": True}, "gomaxprocs"),
        ({"source": HELLO, "godebug": 1}, "godebug"),
        ({"source": HELLO, "timeout_s": 0}, "timeout_s"),
        ({"source": HELLO, "timeout_s": float("inf")}, "timeout_s"),
        ({"source": HELLO, "trace": "yes"}, "trace must be True or False"),
    ],
)
def test_bad_arguments_say_what_to_pass(kwargs, says):
    source = kwargs.pop("source")
    with pytest.raises(SnippetError, match=says):
        run_go(source, **kwargs)


def test_without_a_toolchain_it_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(snippet, "go_toolchain", lambda: None)
    with pytest.raises(GoRunError, match=r"python3 course\.py setup"):
        run_go(HELLO)


# ---- runs ----------------------------------------------------------------------------------------


@pytest.mark.go
def test_output_settings_and_trace(go, own_tmp):
    run = run_go(HELLO, gomaxprocs=3, godebug="asyncpreemptoff=1")
    assert run.ok and run.exit_code == 0 and not run.timed_out
    assert run.stdout == "hello 3 asyncpreemptoff=1\n"
    assert run.trace is not None and run.trace.gomaxprocs == 3
    assert "main.main" in set(run.trace.goroutines["name"].tolist())
    assert run.cpu_profile is None
    assert "exit status 0" in run.summary() and "GOMAXPROCS=3" in run.summary()
    assert not any(own_tmp.iterdir())


@pytest.mark.go
def test_the_callers_runtime_settings_do_not_leak_in(go, monkeypatch):
    for name in ("GODEBUG", "GOMAXPROCS"):
        monkeypatch.delenv(name, raising=False)
    clean = run_go(HELLO, trace=False).stdout
    monkeypatch.setenv("GODEBUG", "gctrace=1")
    monkeypatch.setenv("GOMAXPROCS", "7")
    run = run_go(HELLO, trace=False)
    assert run.stdout == clean
    assert " 7 " not in run.stdout and "gctrace" not in run.stdout


@pytest.mark.go
def test_cpu_profile_on_request(go):
    spin = """package main

import "time"

func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

func main() { spin(300 * time.Millisecond) }
"""
    run = run_go(spin, cpuprofile=True, trace=False)
    assert run.trace is None and run.note == ""
    assert run.cpu_profile is not None
    assert "main.spin" in {name for name, _, _ in run.cpu_profile.top(None)}


@pytest.mark.go
def test_a_compile_error_is_gos_message_with_the_cells_lines(go, own_tmp):
    source = "package main\n\nfunc main() {\n\tx := 1\n}\n"
    with pytest.raises(GoBuildError) as info:
        run_go(source)
    message = str(info.value)
    assert "cell.go:4:2: declared and not used: x" in message
    assert str(own_tmp) not in message and "labkit.local" not in message
    assert not any(own_tmp.iterdir())


@pytest.mark.go
def test_os_exit_keeps_its_status_and_the_trace(go):
    run = run_go('package main\n\nimport "os"\n\nfunc main() {\n\tos.Exit(3)\n}\n')
    assert run.exit_code == 3 and not run.ok
    assert run.trace is not None


@pytest.mark.go
def test_a_panic_in_main_shows_the_cells_line_and_keeps_the_trace(go):
    run = run_go('package main\n\nfunc main() {\n\tvar m map[string]int\n\tm["a"] = 1\n}\n')
    assert run.exit_code == 2
    assert "panic: assignment to entry in nil map" in run.stderr
    assert "cell.go:5" in run.stderr and "zz_labkit" not in run.stderr
    assert run.trace is not None


@pytest.mark.go
@pytest.mark.parametrize(
    "body",
    [
        '\tgo func() { panic("boom") }()\n\ttime.Sleep(time.Second)\n',
        '\tlog.Fatal("bye")\n\ttime.Sleep(0)\n',
    ],
    ids=["panic in a goroutine", "log.Fatal"],
)
def test_exits_that_cut_the_trace_short_say_so(go, body):
    source = f'package main\n\nimport (\n\t"log"\n\t"time"\n)\n\nvar _ = log.Println\n\nfunc main() {{\n{body}}}\n'
    run = run_go(source)
    assert run.exit_code not in (0, None)
    assert run.trace is None
    assert "no execution trace" in run.note and "log.Fatal" in run.note


@pytest.mark.go
def test_past_its_time_limit_the_whole_group_is_stopped(go, own_tmp):
    """The program starts a child process (sleep) and hangs; at the time limit both go."""
    source = """package main

import (
	"fmt"
	"os/exec"
	"time"
)

func main() {
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		panic(err)
	}
	fmt.Println(child.Process.Pid)
	time.Sleep(time.Hour)
}
"""
    started = time.monotonic()
    run = run_go(source, timeout_s=2)
    assert time.monotonic() - started < 60
    assert run.timed_out and run.exit_code is None and not run.ok
    assert "stopped after 2 s" in run.summary()
    assert "time limit" in run.note
    child = int(run.stdout.split()[0])
    # Killed with its group; reaped by init (its parent died), so it is gone or a zombie.
    state = Path(f"/proc/{child}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z"
    assert not any(own_tmp.iterdir())


@pytest.mark.go
def test_output_is_capped(go, monkeypatch):
    monkeypatch.setattr(snippet, "MAX_OUTPUT_BYTES", 1000)
    loud = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfor i := 0; i < 10000; i++ {\n\t\tfmt.Println(i)\n\t}\n}\n'
    run = run_go(loud, trace=False)
    assert run.ok
    assert run.stdout.endswith("[labkit: output cut at 1000 bytes]\n")


# ---- %%go --------------------------------------------------------------------------------------


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "labkit.golab.magic")
    return ip


@pytest.mark.go
def test_go_cell_magic_prints_output_and_a_summary(go, shell, capsys):
    cell = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi from Go")\n}\n'
    shell.run_cell_magic("go", "--gomaxprocs 2 --out run1", cell)
    out = capsys.readouterr().out
    assert out.startswith("hi from Go\n")
    assert "exit status 0" in out and "GOMAXPROCS=2" in out
    assert isinstance(shell.user_ns["run1"], GoRun)
    assert shell.user_ns["run1"].trace.gomaxprocs == 2


@pytest.mark.go
def test_go_cell_magic_numbers_lines_as_the_notebook_does(go, shell, capsys):
    """Line 1 is the %%go line: `x := 1` on the cell's 5th line is cell.go:5."""
    shell.run_cell_magic("go", "", "package main\n\nfunc main() {\n\tx := 1\n}\n")
    captured = capsys.readouterr()
    assert "cell.go:5:2: declared and not used: x" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_go_cell_magic_rejects_unknown_options(shell, capsys):
    shell.run_cell_magic("go", "--bogus", "package main\nfunc main() {}\n")
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_labkit_does_not_import_ipython_until_the_magic_is_loaded():
    code = (
        "import sys, labkit, labkit.golab, labkit.golab.snippet, labkit.traces\n"
        "print('IPython' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_trace_without_gomaxprocs_is_a_trace_cut_short(tmp_path, monkeypatch):
    """A program that exits at once (log.Fatal) can leave only the trace's first batch: it
    loads, but has no GOMAXPROCS and no goroutine; run_go reports it as cut short (seen in CI)."""
    from types import SimpleNamespace

    import labkit.traces
    from labkit.golab import snippet

    path = tmp_path / "trace.out"
    path.write_bytes(b"go 1.26 trace\x00\x00\x00")
    monkeypatch.setattr(labkit.traces, "load_trace", lambda p, name: SimpleNamespace(gomaxprocs=0))
    notes: list[str] = []
    assert snippet._load(path, "execution trace", notes, timed_out=False) is None
    assert notes and "no execution trace" in notes[0]
    monkeypatch.setattr(labkit.traces, "load_trace", lambda p, name: SimpleNamespace(gomaxprocs=2))
    assert snippet._load(path, "execution trace", [], timed_out=False).gomaxprocs == 2


@pytest.mark.go
def test_a_snippet_can_use_the_courses_own_go_packages(go):
    """labkit/golab/go is on the snippet's module path (a local replace: no network), so a
    learner's cell and the twins share measure.Burn instead of copying it."""
    run = run_go(
        "package main\n\n"
        'import (\n\t"fmt"\n\n\t"labkit.local/golab/measure"\n)\n\n'
        "func main() { fmt.Println(measure.Burn(3) != 0, measure.Median([]float64{3, 1, 2})) }\n",
        trace=False,
    )
    assert run.ok and run.stdout.split() == ["true", "2"]


@pytest.mark.go
def test_a_package_the_course_does_not_have_is_gos_own_error(go):
    with pytest.raises(GoBuildError, match="labkit.local/golab/nosuch"):
        run_go('package main\n\nimport _ "labkit.local/golab/nosuch"\n\nfunc main() {}\n')
