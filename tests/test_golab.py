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

REQUIRED = ("preempt", "yield", "syscall_handoff", "lockosthread", "spawn_order", "gc_frames")


def test_catalogue_names_the_course_experiments():
    """experiments() lists at least the five scheduler programs and gc_frames, each with a
    main.go in the module labkit.local/golab."""
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


def test_recorded_results_show_what_course_md_measured():
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
    60 fps, as the recorded real run shows (labkit.render.simulate_frames under the hood)."""
    r = golab.model_prediction("gc_frames", frames=60, fps=60.0, pooled=False, gogc=100)
    assert r["frame_bytes"] == 3 << 20
    assert r["gc_cycles"] == 30 and r["gc_per_s"] == pytest.approx(30.0)
    assert r["gctrace_lines"][0].startswith("gc 1 @")


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


def test_recorded_json_is_plain_json():
    """Recorded files load with the json module alone (the notebooks may read them directly)."""
    for name in REQUIRED:
        path = Path(golab.__file__).parent / "recorded" / f"{name}.json"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert json.loads(path.read_text())["experiment"] == name
