"""labkit.golab without running real Go: catalogue, parameter checks, recorded results, the
toolchain search, the build cache and the fallback when Go is missing or broken (fake ``go``
scripts stand in for a broken toolchain), and the frame-GC pacer arithmetic.
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from strategies_golab import bad_param, experiment_params

import labkit.golab as golab
from labkit.golab import toolchain
from labkit.golab.experiments import EXPERIMENTS, META_KEYS, VARIANTS, get_experiment
from labkit.golab.recorded import FILE_KEYS, load_recorded

REQUIRED = (
    "preempt",
    "yield",
    "syscall_handoff",
    "lockosthread",
    "spawn_order",
    "gc_frames",
    "gc_live",
    "gc_parallel",
    "syscall_threads",
    "retake_keep",
    "json_allocs",
    "sleep_resolution",
    "locked_pingpong",
    "call_kinds",
    "oversubscribe",
    "handoff_costs",
    "idle_wake",
)


def test_catalogue_names_the_course_experiments():
    """experiments() lists the scheduler programs, the GC programs and the json_allocs count,
    each with a main.go in the module labkit.local/golab."""
    names = golab.experiments()
    assert set(REQUIRED) <= set(names)
    go_mod = (toolchain.GO_SOURCE_DIR / "go.mod").read_text()
    assert "module labkit.local/golab" in go_mod
    for name in names:
        assert (toolchain.GO_SOURCE_DIR / get_experiment(name).program_dir / "main.go").is_file()


def test_unknown_experiment_is_a_value_error_listing_the_names():
    """A typo gets a ValueError that names the valid experiments."""
    with pytest.raises(ValueError, match="choose one of preempt, yield"):
        golab.run_experiment("yeild")
    with pytest.raises(golab.UnknownExperimentError):
        golab.model_prediction("nope")


def test_unknown_parameter_names_what_the_experiment_takes():
    """An unknown keyword is rejected with the list of known ones."""
    with pytest.raises(golab.ExperimentParameterError, match="'modes'.*takes mode, iters"):
        golab.run_experiment("yield", modes="gosched")


def test_bad_source_or_timeout_is_rejected():
    """source must be auto, live or recorded; timeout_s a positive number of seconds."""
    with pytest.raises(ValueError, match="source must be one of"):
        golab.run_experiment("yield", source="cache")
    for bad in (0, -1, float("nan"), "5", True):
        with pytest.raises(ValueError, match="timeout_s must be"):
            golab.run_experiment("yield", timeout_s=bad)


@settings(max_examples=150, deadline=None)
@given(bad_param())
def test_every_invalid_parameter_value_is_rejected_by_name(case):
    """Wrong types, out-of-range numbers and unknown choices raise ExperimentParameterError
    naming the parameter, before anything runs."""
    name, param, value = case
    with pytest.raises(golab.ExperimentParameterError, match=repr(param)):
        golab.run_experiment(name, source="recorded", **{param: value})


@settings(max_examples=100, deadline=None)
@given(experiment_params())
def test_normalize_fills_defaults_and_is_idempotent(case):
    """Valid parameters normalise to the full set, and normalising again changes nothing."""
    name, params = case
    exp = EXPERIMENTS[name]
    full = exp.normalize(params)
    assert list(full) == [p.name for p in exp.params]
    assert exp.normalize(full) == full
    args = exp.args(full)
    assert all(a.startswith("-") and "=" in a for a in args)


def test_runtime_settings_reach_the_program_environment():
    """GOMAXPROCS is fixed per experiment; async_preempt=False sets GODEBUG=asyncpreemptoff=1
    (the Go <= 1.13 behaviour); gc_frames runs with gctrace=1 and the GOGC asked for."""
    pre = get_experiment("preempt")
    assert pre.run_env(pre.normalize({"async_preempt": False})) == {
        "GODEBUG": "asyncpreemptoff=1",
        "GOGC": "100",
        "GOMAXPROCS": "1",
    }
    assert pre.run_env(pre.normalize({}))["GODEBUG"] == ""
    gc = get_experiment("gc_frames")
    env = gc.run_env(gc.normalize({"gogc": 400, "pooled": True}))
    assert env["GODEBUG"] == "gctrace=1" and env["GOGC"] == "400" and "GOMAXPROCS" not in env
    assert "-pooled=true" in gc.args(gc.normalize({"pooled": True}))
    assert get_experiment("lockosthread").run_env({})["GOMAXPROCS"] == "2"


def test_gomaxprocs_follows_the_parameters_where_the_experiment_varies_it():
    """syscall_threads takes GOMAXPROCS as a parameter (an environment variable, not a flag);
    retake_keep's queued case runs on one P, its idle and busy cases on two."""
    st = get_experiment("syscall_threads")
    full = st.normalize({"gomaxprocs": 1})
    assert st.run_env(full)["GOMAXPROCS"] == "1"
    assert not any(a.startswith("-gomaxprocs") for a in st.args(full))
    rk = get_experiment("retake_keep")
    procs = {c: rk.run_env(rk.normalize({"case": c}))["GOMAXPROCS"] for c in ("idle", "queued")}
    assert procs == {"idle": "2", "queued": "1"}
    assert "-case=queued" in rk.args(rk.normalize({"case": "queued"}))


def test_quick_runs_use_the_short_settings_but_keep_what_the_caller_gives():
    """quick=True fills the experiment's short settings only for parameters not given."""
    exp = get_experiment("preempt")
    assert exp.normalize(exp.quick_params({}))["loop_ms"] == 150.0
    assert exp.normalize(exp.quick_params({"loop_ms": 300.0}))["loop_ms"] == 300.0
    for name in golab.experiments():  # every quick setting is a valid parameter set
        get_experiment(name).normalize(get_experiment(name).quick_params({}))
    with pytest.raises(golab.ExperimentParameterError, match="quick must be True or False"):
        golab.run_experiment("preempt", quick="yes")


def test_quick_never_changes_a_recorded_result():
    """source="recorded" returns the recording of the full run whatever quick says."""
    full = golab.run_experiment("preempt", source="recorded")
    assert golab.run_experiment("preempt", source="recorded", quick=True) == full


@pytest.mark.parametrize("name", REQUIRED)
def test_recorded_file_has_metadata_and_every_variant(name):
    """Each recorded file says where and when it was recorded and holds every variant the
    record script runs, each with the metadata keys and the experiment's own keys."""
    data = load_recorded(name)
    assert all(k in data for k in FILE_KEYS)
    assert data["go_version"].startswith("go1.")
    assert data["goos"] and data["goarch"] and data["cpus"] >= 1
    assert data["go_version"] in data["recorded_on"]
    assert data["recorded_at"].endswith("Z")
    exp = get_experiment(name)
    recorded_params = [r["params"] for r in data["runs"]]
    for variant_name, params in VARIANTS:
        if variant_name == name:
            assert exp.normalize(params) in recorded_params
    for run in data["runs"]:
        result = run["result"]
        assert all(k in result for k in META_KEYS), sorted(result)
        assert all(k in result for k in exp.result_keys), sorted(result)
        assert result["source"] == "live"  # what was recorded was a live run


def test_recorded_results_show_the_behaviours_the_course_teaches():
    """The shipped evidence itself: Sleep(0) gives no turns, Gosched one per iteration, async
    preemption hands main back within 10-30 ms, spawn order 5 1 2 3 4, affinity unchanged."""
    y = {m: golab.run_experiment("yield", source="recorded", mode=m) for m in ("sleep0", "gosched")}
    assert y["sleep0"]["other_turns"] == 0
    assert y["gosched"]["other_turns"] == pytest.approx(y["gosched"]["iters"], rel=0.05)
    assert y["sleep0"]["ns_per_iter"] < y["gosched"]["ns_per_iter"] / 10
    assert 10 <= golab.run_experiment("preempt", source="recorded")["resume_ms"] <= 30
    assert golab.run_experiment("spawn_order", source="recorded")["order"] == [5, 1, 2, 3, 4]
    lo = golab.run_experiment("lockosthread", source="recorded")
    assert lo["affinity_locked"] == lo["affinity_before"]


def test_recorded_runs_show_lost_preemption_kept_ps_threads_and_allocations():
    """A Sleep(1ns) loop gives the other goroutine fewer turns than the same length of loop
    without a yield (lost preemption requests); a blocked syscall keeps its P ~10 ms when
    another P is idle and nothing is queued, well under 1 ms with queued work; threads are
    syscalls + 2 on one P and one more on two; rows with a time.Time and a map allocate about
    four objects each in json.Marshal, a flat struct a few per call."""
    y = dict(source="recorded", mode="sleep1ns")
    lost = golab.run_experiment("yield", iters=1_000_000, **y)
    plain = golab.run_experiment("yield", source="recorded", mode="none", iters=1000, body_us=320.0)
    assert lost["other_turns"] / lost["loop_ms"] < plain["other_turns"] / plain["loop_ms"] / 3
    kept = {
        c: golab.run_experiment("retake_keep", source="recorded", case=c)["kept_ms"]
        for c in ("idle", "busy", "queued")
    }
    assert 10 <= kept["idle"] < 20 and kept["busy"] < 1 and kept["queued"] < 1
    threads = {
        n: golab.run_experiment("syscall_threads", source="recorded", gomaxprocs=n)["threads_peak"]
        for n in (1, 2)
    }
    assert threads == {1: 9 + 2, 2: 9 + 3}
    tagged = golab.run_experiment("json_allocs", source="recorded", payload="tagged")
    points = golab.run_experiment("json_allocs", source="recorded", payload="points")
    assert 3.9 < tagged["allocs_per_row"] < 4.1 and points["allocs_per_call"] <= 4


def test_recorded_runs_show_preemption_points_and_shared_cpus():
    """#25 items 2 and 4, in the shipped evidence: without signals a loop of NOSPLIT leaf calls
    holds the P to its end (main runs within 0.1 ms of it), one of calls with a prologue is
    stopped 10-20 ms in, one with such a call every 30 ms at that call; every thread of the
    oversubscribe program was confined to 2 CPUs, and 4 busy goroutines there take ~2x one."""
    ck = dict(source="recorded", async_preempt=False)
    leaf = golab.run_experiment("call_kinds", kind="leaf", **ck)
    frame = golab.run_experiment("call_kinds", kind="frame", **ck)
    sparse = golab.run_experiment("call_kinds", kind="sparse", **ck)
    assert abs(leaf["after_loop_ms"]) < 0.1 and leaf["late_ms"] > 0.9 * leaf["loop_ms"]
    assert 10 <= frame["late_ms"] <= 20 and 28 <= sparse["late_ms"] <= 31
    over = golab.run_experiment("oversubscribe", source="recorded", gomaxprocs=4)
    assert over["affinity_threads"] == ["0-1"] and over["cores"] == 2
    assert 1.9 < over["makespan_ratio"] < 2.3


def test_every_recorded_timed_result_keeps_its_runs():
    """The fidelity table's tolerances come from the per-run values: every timed recording
    keeps them (``*_runs``) next to its medians, and says when and under what load it was made."""
    for name in REQUIRED:
        data = load_recorded(name)
        for run in data["runs"]:
            runs = [k for k in run["result"] if k.endswith("_runs")]
            assert runs or not get_experiment(name).timed, (name, run["params"])
            assert run.get("recorded_at", data["recorded_at"]).endswith("Z")


def test_recorded_source_labels_where_and_when():
    """source="recorded" never runs Go and says so: source, recorded_at, recorded_on."""
    r = golab.run_experiment("yield", source="recorded", mode="gosched")
    assert r["source"] == "recorded"
    assert r["recorded_at"] and r["recorded_on"]
    assert r["params"]["mode"] == "gosched" and "note" not in r


def test_recorded_with_other_parameters_says_so_in_a_note():
    """Asking for parameters nobody recorded gives the run with the same variant and a note
    naming the difference."""
    r = golab.run_experiment("yield", source="recorded", mode="sleep0", iters=123)
    assert r["source"] == "recorded" and r["mode"] == "sleep0"
    assert "iters" in r["note"] and "not the parameters asked for" in r["note"]


def test_recorded_fallback_picks_the_closest_variant():
    """A combination nobody recorded (pooled at GOGC=400) gets the closest recorded run, here
    the pooled one, with a note naming the GOGC it was recorded with."""
    r = golab.run_experiment("gc_frames", source="recorded", pooled=True, gogc=400)
    assert r["pooled"] is True
    assert "'gogc': 100" in r["note"]


# --- a fake toolchain ---------------------------------------------------------------------


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake_go(tmp_path, monkeypatch):
    """Make ``go_toolchain`` find only scripts we write, and build into an empty cache."""
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    found: list[Path] = []
    monkeypatch.setattr(toolchain, "_candidates", lambda: list(found))

    def install(body: str) -> Path:
        go = _script(tmp_path / f"go{len(found)}", body)
        found.insert(0, go)
        return go

    return install


VERSION_OK = 'if [ "$1" = version ]; then echo "go version go1.99.0 linux/amd64"; exit 0; fi\n'


def test_no_toolchain_falls_back_to_recorded_with_a_warning(fake_go):
    """With no usable go, run_experiment warns, shows the recorded result and says why."""
    fake_go("exit 1\n")  # answers nothing sensible to `go version`
    assert golab.go_toolchain() is None
    with pytest.warns(golab.GolabWarning, match="no usable Go toolchain"):
        r = golab.run_experiment("spawn_order")
    assert r["source"] == "recorded"
    assert "no usable Go toolchain" in r["note"] and r["recorded_on"] in r["note"]
    assert r["order"] == [5, 1, 2, 3, 4]
    with pytest.raises(golab.GoRunError, match="no usable Go toolchain"):
        golab.run_experiment("spawn_order", source="live")


def test_no_toolchain_and_no_recording_names_both_reasons(fake_go, tmp_path, monkeypatch):
    """When neither a live run nor a recorded result is possible, the error says why for both."""
    from labkit.golab import recorded

    fake_go("exit 1\n")
    monkeypatch.setattr(recorded, "RECORDED_DIR", tmp_path / "nothing-recorded")
    with pytest.raises(golab.RecordedResultError, match="no usable Go toolchain.*is missing"):
        golab.run_experiment("spawn_order")


def test_failing_build_falls_back_and_quotes_the_compiler(fake_go):
    """A build error is reported with the compiler's message, and the recorded result is used."""
    go = fake_go(VERSION_OK + 'echo "main.go:1: fake syntax error" >&2\nexit 2\n')
    assert golab.go_toolchain() == str(go)
    with pytest.warns(golab.GolabWarning, match="fake syntax error"):
        r = golab.run_experiment("yield", mode="gosched")
    assert r["source"] == "recorded"
    assert "go build ./yield` failed (exit 2)" in r["note"]
    with pytest.raises(golab.GoRunError, match="fake syntax error"):
        golab.run_experiment("yield", source="live")


def _building_go(program_body: str) -> str:
    """A fake go whose build writes ``program_body`` as the binary (the path after -o)."""
    return VERSION_OK + (
        'out=""; prev=""\nfor a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done\n'
        f"cat > \"$out\" <<'PROG'\n#!/bin/sh\n{program_body}\nPROG\n"
        'chmod +x "$out"\nexit 0\n'
    )


def test_crashing_program_falls_back(fake_go):
    """A program that exits non-zero is a run failure: recorded result, note with its stderr."""
    fake_go(_building_go('echo "panic: boom" >&2; exit 3'))
    with pytest.warns(golab.GolabWarning):
        r = golab.run_experiment("spawn_order")
    assert r["source"] == "recorded" and "exited with status 3" in r["note"]
    assert "panic: boom" in r["note"]


def test_program_printing_garbage_falls_back(fake_go):
    """Output that is not one JSON object is a run failure, not a crash in json."""
    fake_go(_building_go("echo not json"))
    with pytest.raises(golab.GoRunError, match="did not print one JSON object"):
        golab.run_experiment("spawn_order", source="live")


def test_hanging_program_is_stopped_by_the_timeout(fake_go):
    """Each run is bounded in time; a hung program falls back to the recorded result."""
    fake_go(_building_go("sleep 30"))
    with pytest.warns(golab.GolabWarning, match="did not finish within 0.5 s"):
        r = golab.run_experiment("spawn_order", timeout_s=0.5)
    assert r["source"] == "recorded"


def test_live_result_gets_metadata_and_the_environment_asked_for(fake_go, monkeypatch):
    """A (fake) live run: the JSON it prints plus experiment, params and source "live"; the
    program sees GOMAXPROCS and GODEBUG from the experiment, not from the caller's shell."""
    fake_go(
        _building_go(
            'printf \'{"resume_ms": 1, "loop_ms": 2, "go_version": "go1.99.0", "cpus": 2, '
            '"gomaxprocs": "%s", "godebug": "%s"}\' "$GOMAXPROCS" "$GODEBUG"'
        )
    )
    monkeypatch.setenv("GOMAXPROCS", "7")
    r = golab.run_experiment("preempt", source="live", async_preempt=False)
    assert r["source"] == "live" and r["experiment"] == "preempt"
    assert r["gomaxprocs"] == "1" and r["godebug"] == "asyncpreemptoff=1"
    assert list(r)[:4] == ["experiment", "params", "resume_ms", "loop_ms"]


def test_build_is_reused_until_the_source_changes(fake_go, tmp_path, monkeypatch):
    """One build per source version: the second call reuses the binary; editing main.go gives a
    new hash, a new build, and the stale binary is removed."""
    calls = tmp_path / "builds.log"
    fake_go(VERSION_OK + f'echo build >> "{calls}"\n' + _building_go("echo {}").split("\n", 1)[1])
    src = tmp_path / "src"
    (src / "demo").mkdir(parents=True)
    (src / "go.mod").write_text("module labkit.local/golab\n")
    (src / "demo" / "main.go").write_text("package main\n")
    monkeypatch.setattr(toolchain, "GO_SOURCE_DIR", src)
    go = golab.go_toolchain()
    first = toolchain.build_program("demo", go)
    assert toolchain.build_program("demo", go) == first
    assert calls.read_text().count("build") == 1
    (src / "demo" / "main.go").write_text("package main // edited\n")
    second = toolchain.build_program("demo", go)
    assert second != first and second.is_file() and not first.exists()
    assert calls.read_text().count("build") == 2


def test_cache_dir_honours_labkit_cache(tmp_path, monkeypatch):
    """Builds go to $LABKIT_CACHE/go when set, never to the home directory."""
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    assert toolchain.cache_dir() == tmp_path / "go"
    monkeypatch.delenv("LABKIT_CACHE")
    repo = Path(__file__).resolve().parents[1]
    assert toolchain.cache_dir() == repo / ".state" / "go"  # running from this source tree


def test_toolchain_prefers_path_then_next_to_python(tmp_path, monkeypatch):
    """go_toolchain() tries `go` on PATH first, then the one next to sys.executable."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    go = _script(bindir / "go", VERSION_OK)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    assert toolchain._candidates()[0] == go
    assert golab.go_toolchain() == str(go)
    assert toolchain.go_version(str(go)) == "go1.99.0"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr("sys.executable", str(bindir / "python"))
    assert toolchain._candidates()[0] == bindir / "go"


# --- gc_frames: the model side is the course's frame pipeline model ----------------------


def test_gc_frames_model_collects_every_second_frame_like_real_go():
    """3 MiB frames, GOGC=100, a near-empty heap: a cycle every second frame, 30 cycles/s at
    60 fps, as the recorded real run shows (labkit.models.renderloop.simulate_frames under the hood)."""
    r = golab.model_prediction("gc_frames", frames=60, fps=60.0, pooled=False, gogc=100)
    assert r["frame_bytes"] == 3 << 20
    assert r["gc_cycles"] == 30 and r["gc_per_s"] == pytest.approx(30.0)
    assert r["gctrace_lines"][0].startswith("gc 1 @")


def test_json_allocs_has_no_model_and_says_why():
    """No course model counts json.Marshal's allocations: asking for one is a clear error."""
    with pytest.raises(golab.NoModelError, match="json_allocs: no course model counts"):
        golab.model_prediction("json_allocs")


def test_gc_frames_model_pool_and_gogc_never_add_cycles():
    """A pool stops the cycles; a higher GOGC never adds cycles."""
    base = dict(frames=120, fps=60.0, gogc=100)
    per_frame = golab.model_prediction("gc_frames", pooled=False, **base)["gc_cycles"]
    pooled = golab.model_prediction("gc_frames", pooled=True, **base)["gc_cycles"]
    assert pooled <= 1 < per_frame
    gogc400 = golab.model_prediction("gc_frames", pooled=False, **{**base, "gogc": 400})
    assert gogc400["gc_cycles"] < per_frame


def test_record_script_rejects_unknown_names(capsys):
    """scripts/record_go_results.py names the valid experiments when given a wrong one."""
    import runpy
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "record_go_results.py"
    argv = sys.argv
    sys.argv = [str(script), "bogus"]
    try:
        with pytest.raises(SystemExit) as exc:
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    assert exc.value.code == 2
    assert "choose from preempt" in capsys.readouterr().err


def test_record_script_keeps_recorded_variants_with_missing(monkeypatch, tmp_path):
    """--missing runs only the variants a file lacks and keeps the others as recorded (each run
    keeps its own date); without it every variant is run again."""
    import importlib.util

    from labkit.golab import recorded

    script = Path(__file__).resolve().parents[1] / "scripts" / "record_go_results.py"
    spec = importlib.util.spec_from_file_location("record_go_results", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(recorded, "RECORDED_DIR", tmp_path)
    source = Path(golab.__file__).parent / "recorded" / "spawn_order.json"
    (tmp_path / "spawn_order.json").write_text(source.read_text())
    ran = []

    def fake_run(name, source, **params):
        ran.append(params)
        old = json.loads((Path(golab.__file__).parent / "recorded" / f"{name}.json").read_text())
        return old["runs"][0]["result"]

    monkeypatch.setattr(mod, "run_experiment", fake_run)
    monkeypatch.setattr(mod, "recorded_path", lambda name: tmp_path / f"{name}.json")
    mod.record("spawn_order", only_missing=True)
    assert ran == []  # the one variant was there already
    mod.record("spawn_order")
    assert ran == [{}]
    data = json.loads((tmp_path / "spawn_order.json").read_text())
    assert data["runs"][0]["recorded_at"].endswith("Z") and "load_avg_before" in data["runs"][0]


def test_recorded_json_is_plain_json():
    """Recorded files load with the json module alone (the notebooks may read them directly)."""
    for name in REQUIRED:
        path = Path(golab.__file__).parent / "recorded" / f"{name}.json"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert json.loads(path.read_text())["experiment"] == name


def test_processes_pooled_join_their_runs_and_take_the_median_of_them_all():
    """Experiment.processes: a recording run in several processes keeps every process's runs,
    the median of all of them, and each process's own median; a figure that is not the median
    of its runs (a program's own summary) is the median of the processes' figures."""
    from labkit.golab.recorded import pool_processes

    a = {"kept_ms": 10.2, "kept_ms_runs": [10.1, 10.2, 10.3], "ratio": 0.5, "ratio_runs": [0.1],
         "goos": "linux"}  # fmt: skip
    b = {"kept_ms": 11.1, "kept_ms_runs": [11.0, 11.1, 11.2], "ratio": 0.7, "ratio_runs": [0.2],
         "goos": "linux"}  # fmt: skip
    c = {"kept_ms": 11.3, "kept_ms_runs": [11.3, 11.3, 11.4], "ratio": 0.6, "ratio_runs": [0.3],
         "goos": "linux"}  # fmt: skip
    out = pool_processes([a, b, c])
    assert out["kept_ms_runs"] == [10.1, 10.2, 10.3, 11.0, 11.1, 11.2, 11.3, 11.3, 11.4]
    assert out["kept_ms"] == 11.1  # the median of the nine runs
    assert out["ratio"] == 0.6  # not the median of its runs: the median of the processes'
    assert out["process_medians"] == {"kept_ms": [10.2, 11.1, 11.3], "ratio": [0.5, 0.7, 0.6]}
    assert out["processes"] == 3 and out["goos"] == "linux"
    assert pool_processes([a]) == {**a, "processes": 1, "process_medians": {
        "kept_ms": [10.2], "ratio": [0.5]}}  # fmt: skip
    with pytest.raises(golab.RecordedResultError):
        pool_processes([])
    windows = pool_processes([{"medians": [1.0, 2.0]}, {"medians": [3.0]}], per_run=("medians",))
    assert windows["medians"] == [1.0, 2.0, 3.0]
    assert pool_processes([{"medians": [1.0]}, {"medians": [3.0]}])["medians"] == [1.0]


def test_the_figures_that_move_between_processes_are_recorded_in_several():
    """The OS layer's comparisons (sysmon's phase, where the kernel puts threads) are recorded
    in three processes each, their runs pooled: one process's spread understates the real one."""
    for name in (
        "retake_keep",
        "pingpong_hog",
        "ticker_load",
        "prodcons",
        "handoff_churn",
        "oversubscribe",
        "idle_wake",
    ):
        assert get_experiment(name).processes == 3
        for run in load_recorded(name)["runs"]:
            result = run["result"]
            assert result["processes"] == 3, (name, run["params"])
            for key in get_experiment(name).per_run_lists:  # pooled as the *_runs are
                assert len(result[key]) > result["repeats"], (name, key)


def test_a_sleep_that_ended_before_its_time_is_set_aside_with_a_note():
    """idle_wake: a nanosleep cannot end early, so a negative lateness is a sleep a signal cut
    short (EINTR), not a wake-up. The recording of 99 ms holds one (98.6 ms early, written when
    the program ignored nanosleep's error): the reader leaves it out of late_us, late_us_runs and
    the process medians, keeps how long it lasted and says so; the other lengths have none."""
    r = golab.run_experiment("idle_wake", source="recorded", sleep_us=99_000.0, samples=30)
    assert len(r["late_us_runs"]) == 89 and min(r["late_us_runs"]) > 0
    assert r["late_us"] == pytest.approx(411.614)
    assert r["cut_short_us"] == [pytest.approx(431.371)]
    assert r["process_medians"]["late_us"] == pytest.approx([405.385, 338.851, 447.307])
    assert "1 of the 90 sleeps of 99000 us ended before their time" in r["note"]
    assert "EINTR" in r["note"]
    raw = next(
        run["result"]
        for run in load_recorded("idle_wake")["runs"]
        if run["params"]["sleep_us"] == 99_000.0
    )
    assert min(raw["late_us_runs"]) < -98_000  # the file itself is left as it was recorded
    for us in (20.0, 1_000.0, 5_000.0, 19_000.0):
        clean = golab.run_experiment("idle_wake", source="recorded", sleep_us=us)
        assert "cut_short_us" not in clean and "ended before" not in clean.get("note", "")


def test_the_sleep_check_recomputes_the_median_and_refuses_a_result_with_no_wake_up():
    """The check on any result, live or recorded: negative values out, the median of the rest;
    a result whose every sleep ended early measures nothing and is refused."""
    check = get_experiment("idle_wake").check_result
    out = check({"sleep_us": 100.0, "late_us": 60.0, "late_us_runs": [70.0, -95.0, 60.0, 50.0]})
    assert out["late_us_runs"] == [70.0, 60.0, 50.0] and out["late_us"] == 60.0
    assert out["cut_short_us"] == [5.0] and "after 5 us" in out["note"]
    fine = {"sleep_us": 100.0, "late_us": 60.0, "late_us_runs": [70.0, 60.0, 50.0]}
    assert check(fine) == fine
    with pytest.raises(golab.GoRunError, match="every one of the 2 sleeps"):
        check({"sleep_us": 100.0, "late_us": -90.0, "late_us_runs": [-90.0, -80.0]})
