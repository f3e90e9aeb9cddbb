#!/usr/bin/env python3
"""Set up, open and test the course with nothing but Python 3.11+.

    python3 course.py lab      # install everything (first time only) and open JupyterLab
    python3 course.py test     # install everything (first time only) and run every test
    python3 course.py site     # build the course website into build/site (docs/README.md)
    python3 course.py bench    # run the benchmarks in benchmarks/ and print medians
    python3 course.py calibrate  # derive the scheduler model's costs here and beside the shipped ones
    python3 course.py gobench  # the Go team's own scheduler benchmarks against the model (--live, --profiles)
    python3 course.py explore  # run every property test with many random seeds (~20 min)
    python3 course.py badge    # print the Binder badge built from pyproject.toml's repository URL
    python3 course.py workshop       # start a JupyterHub for a class on this machine (Ctrl-C stops)
    python3 course.py workshop-link --hub URL [--notebook PATH]  # the nbgitpuller link to hand out
    python3 course.py workshop-loadtest --learners N  # N simulated learners against a real hub

``test`` runs the property tests (hypothesis ``@given``) derandomized: the same examples on every
run. ``explore`` looks for what those fixed examples miss: every property test, 200 examples,
under each of 20 random seeds, then a summary of each failure with its seed, its minimal example
and the command that reproduces it; it exits 1 if any test failed.

    python3 course.py explore --examples 50 --seeds 5           # a quicker look
    python3 course.py explore tests/test_render.py -k invariants  # some tests only (pytest args)
    python3 course.py explore --seed 1234 --seeds 1 tests/test_render.py  # rerun one seed

Record what it finds as an ``@example`` on the test, so that ``test`` checks it from then on.

Everything lives inside this folder: the virtual environment in ``.venv/``, and Jupyter, IPython
and Go state in ``.state/``, so the course never writes to your home directory. A second run
reinstalls nothing unless pyproject.toml changed (a stamp file records its hash).

This file uses only the standard library on purpose: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STATE = ROOT / ".state"
STAMP = VENV / ".labkit-install-stamp"
START_NOTEBOOK = "chapters/00-start-here.ipynb"
# pyproject.toml's optional extras that set-up installs: the test tools, and the website's
# builder (tests/test_site.py builds the site, so `test` needs it too); the workshop hub
# (workshop/README.md; tests/test_workshop*.py start it).
EXTRAS = ("test", "site", "workshop")
WORKSHOP = ROOT / "workshop"
PROXY = WORKSHOP / "node_modules" / ".bin" / "configurable-http-proxy"

# JupyterLab settings that keep the course's first screen clean: start the notebook's kernel
# without asking, and do not fetch news (the machine may have no network; the toast covers plots).
LAB_OVERRIDES = {
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

# The server setting every JupyterLab of the course runs with (this lab command, the browser
# tests', the workshop hub's learner servers, Binder's config from binder/postBuild): the
# kernel's WebSocket without Nagle's delay, so a widget's messages reach the browser when the
# kernel sends them (labkit/serving.py; tests/test_serving.py keeps the four in step).
LAB_SERVER_CONFIG = {"kernel_websocket_connection_class": "labkit.serving.NoDelayKernelConnection"}
LAB_SERVER_ARGS = [f"--ServerApp.{name}={value}" for name, value in LAB_SERVER_CONFIG.items()]


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def course_env() -> dict[str, str]:
    """Environment for every process the course starts: all state inside .state/."""
    env = dict(os.environ)
    bindir = str(venv_python().parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(VENV)
    env["JUPYTER_CONFIG_DIR"] = str(STATE / "jupyter" / "config")
    env["JUPYTER_DATA_DIR"] = str(STATE / "jupyter" / "data")
    env["JUPYTER_RUNTIME_DIR"] = str(STATE / "jupyter" / "runtime")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(STATE / "jupyter" / "lab" / "user-settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(STATE / "jupyter" / "lab" / "workspaces")
    env["IPYTHONDIR"] = str(STATE / "ipython")
    env["MPLCONFIGDIR"] = str(STATE / "matplotlib")
    env["GOCACHE"] = str(STATE / "go" / "cache")
    env["GOPATH"] = str(STATE / "go" / "path")
    env["GOTOOLCHAIN"] = "local"
    env["XDG_CONFIG_HOME"] = str(STATE / "xdg" / "config")  # Go telemetry, Chromium
    env["XDG_CACHE_HOME"] = str(STATE / "xdg" / "cache")
    env["LABKIT_CACHE"] = str(STATE / "labkit")
    env["PLAYWRIGHT_BROWSERS_PATH"] = str(STATE / "playwright")  # never used for downloads
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


def install_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def setup() -> None:
    """Create .venv and install labkit with its test extras, unless already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must explain, not crash, on old Pythons
        sys.exit(f"The course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if STAMP.exists() and STAMP.read_text() == install_stamp() and venv_python().exists():
        return
    print("Setting up the course environment in .venv (first time: about a minute) ...")
    if not venv_python().exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}[{','.join(EXTRAS)}]"], check=True, env=course_env())
    write_lab_overrides()
    install_proxy()
    STAMP.write_text(install_stamp())
    print("Environment ready.")


def install_proxy() -> bool:
    """Install the workshop hub's proxy (configurable-http-proxy, pinned in workshop/package.json)
    into workshop/node_modules with npm, its cache in .state/npm. Without npm, say so and go on:
    only the workshop commands and their tests need it (the tests skip, saying why)."""
    import shutil

    if PROXY.exists():
        return True
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the workshop hub needs it for configurable-http-proxy (Node.js 20+).")
        return False
    env = course_env()
    env.update(npm_config_cache=str(STATE / "npm"), npm_config_update_notifier="false")
    cmd = [npm, "ci", "--prefix", str(WORKSHOP), "--no-audit", "--no-fund", "--loglevel=error"]
    if subprocess.run(cmd, env=env, cwd=WORKSHOP).returncode != 0:
        print("npm could not install configurable-http-proxy; the workshop hub will not start.")
    return PROXY.exists()


def write_lab_overrides() -> None:
    """Install the course's JupyterLab setting overrides into the venv's app settings folder."""
    settings = VENV / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n")


def lab_command(port: int | None = None, extra: list[str] | None = None) -> list[str]:
    """The command that opens the course. tests/test_lab_command.py starts Lab this same way."""
    cmd = [str(venv_python()), "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}", *LAB_SERVER_ARGS]
    if port is not None:
        cmd += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + (extra or [])


def lab(args: list[str]) -> int:
    setup()
    cmd = lab_command(extra=args)
    # Open the start page directly; JupyterLab resolves this path against root_dir.
    cmd.insert(3, START_NOTEBOOK)
    print("Opening JupyterLab; stop it with Ctrl-C.")
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def test(args: list[str]) -> int:
    setup()
    cmd = [str(venv_python()), "-m", "pytest", *args]
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def site(args: list[str]) -> int:
    """Build the course website from the committed notebooks into build/site (docs/build.py)."""
    setup()
    cmd = [str(venv_python()), str(ROOT / "docs" / "build.py"), *args]
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def bench(args: list[str]) -> int:
    setup()
    cmd = [
        str(venv_python()),
        "-m",
        "pytest",
        "benchmarks",
        "-o",
        "python_files=bench_*.py",
        "--benchmark-enable",
        "--benchmark-columns=median,iqr,min,rounds",
        "--benchmark-sort=name",
        *args,
    ]
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def calibrate(args: list[str]) -> int:
    """Derive every cost constant of the scheduler model, and the GC model's marking speed, from
    quick runs on this machine and print them beside the shipped derivation
    (labkit/golab/calibrate.py; --full, --recorded)."""
    setup()
    cmd = [str(venv_python()), "-m", "labkit.golab.calibrate", *args]
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def gobench(args: list[str]) -> int:
    """Compare the Go team's own scheduler benchmarks (src/runtime/*_test.go) with the model:
    the shipped recording, or --live on this machine (labkit/golab/gobench.py)."""
    setup()
    cmd = [str(venv_python()), "-m", "labkit.golab.gobench", *args]
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


EXPLORE_EXAMPLES = 200
EXPLORE_SEEDS = 20
EXPLORE_LOGS = ROOT / "test-artifacts" / "explore"
_EXAMPLE_MARKERS = ("Failing test case:", "Falsifying example:")  # hypothesis >= 6.13x, older


def explore_args(args: list[str]):
    """Parse ``explore``'s options; what it does not know goes to pytest (paths, -k, -x ...)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python3 course.py explore",
        description="Run every property test (@given) with many random seeds; report failures.",
        epilog="Other arguments go to pytest: test paths, -k EXPRESSION, -x ...",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=EXPLORE_EXAMPLES,
        metavar="N",
        help=f"examples per test and seed (default {EXPLORE_EXAMPLES})",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=EXPLORE_SEEDS,
        metavar="N",
        help=f"how many seeds to run (default {EXPLORE_SEEDS})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        action="append",
        default=[],
        metavar="S",
        help="run this seed (repeat for several); random seeds fill up --seeds",
    )
    opts, pytest_args = parser.parse_known_args(args)
    if opts.examples < 1 or opts.seeds < 1:
        parser.error("--examples and --seeds must be at least 1")
    return opts, pytest_args


def falsifying_example(report: str) -> str:
    """The minimal example hypothesis printed in a pytest failure report, or ''."""
    lines = [line.removeprefix("E") for line in report.splitlines()]
    for i, line in enumerate(lines):
        if line.strip().startswith(_EXAMPLE_MARKERS):
            indent = len(line) - len(line.lstrip())
            block = [line[indent:]]
            for rest in lines[i + 1 :]:
                block.append(rest[indent:] if rest[:indent].isspace() else rest.strip())
                if rest.strip() == ")":
                    break
            return "\n".join(block)
    return ""


def junit_failures(path: Path) -> list[tuple[str, str, str]]:
    """(test id, one-line message, minimal example) for each failed test in a junit XML file
    written with junit_family=xunit1 (which records each test's file)."""
    import xml.etree.ElementTree as ET

    out = []
    for case in ET.parse(path).iter("testcase"):
        file, classname = case.get("file", ""), case.get("classname", "")
        module = file.removesuffix(".py").replace("/", ".")
        cls = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
        test_id = "::".join(part for part in (file, *cls.split("."), case.get("name")) if part)
        for bad in [*case.iter("failure"), *case.iter("error")]:
            message = (bad.get("message") or "").strip().splitlines()[:1]
            out.append((test_id, "".join(message)[:200], falsifying_example(bad.text or "")))
    return out


def explore_targets(pytest_args: list[str]) -> list[str]:
    """pytest's arguments for ``explore``: the user's, plus ``tests`` unless they name a path."""
    names_a_path = any(
        not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in pytest_args
    )
    return pytest_args if names_a_path else [*pytest_args, "tests"]


def explore_seed(seed: int, examples: int, targets: list[str]) -> tuple[int, str, list]:
    """Run the property tests once under ``seed``: pytest's exit code, its closing line, and
    the failures (test id, message, minimal example). Output goes to test-artifacts/explore/."""
    junit, log = EXPLORE_LOGS / f"seed-{seed}.xml", EXPLORE_LOGS / f"seed-{seed}.log"
    junit.unlink(missing_ok=True)
    cmd = [
        str(venv_python()),
        "-m",
        "pytest",
        "-m",
        "property",
        "-q",
        "--hypothesis-profile=explore",
        f"--hypothesis-seed={seed}",
        f"--explore-examples={examples}",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        f"--timeout={max(600, 10 * examples)}",  # pytest-timeout: per test, not per run
        *targets,
    ]
    with open(log, "w") as out:
        code = subprocess.call(cmd, env=course_env(), cwd=ROOT, stdout=out, stderr=out)
    closing = (log.read_text().strip().splitlines() or ["(no output)"])[-1].strip("= ")
    return code, closing, junit_failures(junit) if junit.exists() else []


def explore_report(failures: dict[str, list[tuple[int, str, str]]], seeds: int, examples: int):
    """Each failed test once: the seeds that found it, the shortest minimal example, and the
    command that reruns it."""
    for test_id, hits in sorted(failures.items()):
        seed, message, example = min(hits, key=lambda h: len(h[2]) or 10**9)
        found_by = ", ".join(str(h[0]) for h in hits)
        print(f"\nFAILED {test_id}\n  under {len(hits)} of {seeds} seeds ({found_by}): {message}")
        print("  " + (example or "(no minimal example printed: see the log)").replace("\n", "\n  "))
        print(
            f"  rerun: python3 course.py explore --seed {seed} --seeds 1 "
            f"--examples {examples} {test_id}"
        )
    print("\nAdd each minimal example as an @example on its test, then fix what it shows.")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def explore(args: list[str]) -> int:
    """Run the property tests under many random seeds; print progress, failures and a summary.
    Exit 0 if none failed, 1 if some did, 2 if pytest could not run them."""
    import secrets
    import time

    opts, pytest_args = explore_args(args)
    setup()
    seeds = opts.seed + [secrets.randbelow(2**32) for _ in range(opts.seeds - len(opts.seed))]
    targets = explore_targets(pytest_args)
    EXPLORE_LOGS.mkdir(parents=True, exist_ok=True)
    print(
        f"Exploring the property tests: {opts.examples} examples x {len(seeds)} seeds "
        f"({' '.join(targets)}); logs in {EXPLORE_LOGS.relative_to(ROOT)}/"
    )
    failures: dict[str, list[tuple[int, str, str]]] = {}
    broken = False
    start = time.monotonic()
    for i, seed in enumerate(seeds, 1):
        print(f"[{i}/{len(seeds)}] seed {seed}:", end=" ", flush=True)
        t0 = time.monotonic()
        code, closing, found = explore_seed(seed, opts.examples, targets)
        done = time.monotonic() - start
        left = done / i * (len(seeds) - i)
        print(
            f"{closing} ({_duration(time.monotonic() - t0)}; {_duration(done)} so far"
            + (f", about {_duration(left)} to go)" if left else ")")
        )
        for test_id, message, example in found:
            failures.setdefault(test_id, []).append((seed, message, example))
            print(f"    FAILED {test_id}: {message}")
        if code not in (0, 1) or (code == 1 and not found):
            broken = True
            print(f"    pytest exited with {code}: see {EXPLORE_LOGS.relative_to(ROOT)}/")
    total = _duration(time.monotonic() - start)
    print(f"\n== explore: {len(seeds)} seeds x {opts.examples} examples in {total}")
    if failures:
        explore_report(failures, len(seeds), opts.examples)
        return 1
    print("pytest did not run cleanly: see the logs." if broken else "No property test failed.")
    return 2 if broken else 0


def wait_through_ctrl_c(cmd: list[str]) -> int:
    """Run ``cmd`` and wait for it even through Ctrl-C, which reaches it too (same terminal) and
    starts its own clean stop; SIGTERM is passed on to it."""
    import signal

    proc = subprocess.Popen(cmd, env=course_env(), cwd=ROOT)
    signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


def workshop(args: list[str], module: str = "run") -> int:
    """The workshop commands (workshop/README.md): the hub, its links, its load test."""
    setup()
    if module != "links":
        install_proxy()
    return wait_through_ctrl_c([str(venv_python()), "-m", f"workshop.{module}", *args])


def repository_url() -> str:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def binder_url(notebook: str, ref: str = "HEAD") -> str:
    """The mybinder.org link that opens ``notebook`` (a path from the repository root) in
    JupyterLab, built from the one repository URL in pyproject.toml (the README's badge and
    every page of the course website use it)."""
    from urllib.parse import quote

    repo = repository_url().removeprefix("https://github.com/").strip("/")
    urlpath = quote(f"lab/tree/{notebook}", safe="")
    return f"https://mybinder.org/v2/gh/{repo}/{ref}?urlpath={urlpath}"


def binder_badge() -> str:
    """The README's Binder badge, built from the one repository URL in pyproject.toml."""
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(START_NOTEBOOK)})"


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "site": site, "bench": bench, "explore": explore}
    commands["workshop"] = workshop
    commands["calibrate"] = calibrate
    commands["gobench"] = gobench
    commands["workshop-link"] = lambda args: workshop(args, "links")
    commands["workshop-loadtest"] = lambda args: workshop(args, "loadtest")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    if argv[0] == "setup":
        setup()
        return 0
    if argv[0] == "badge":
        print(binder_badge())
        return 0
    if argv[0] not in commands:
        print(
            f"unknown command {argv[0]!r}; expected one of: "
            "setup, lab, test, site, bench, calibrate, gobench, explore, badge, workshop, "
            "workshop-link, "
            "workshop-loadtest"
        )
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
