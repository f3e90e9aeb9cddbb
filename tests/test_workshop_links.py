"""The nbgitpuller link (python3 course.py workshop-link): its format as nbgitpuller itself reads
it (a real Jupyter server with nbgitpuller's handlers, no hub), and what a learner's second click
does: nbgitpuller's own pull code on local clones merges upstream changes and keeps the
learner's edits (a puller that overwrites them is caught by the same check)."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nbgitpuller import GitPuller  # noqa: E402

from workshop.links import WorkshopLinkError, link_parameters, nbgitpuller_link  # noqa: E402
from workshop.loadtest import _data_attrs  # noqa: E402

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


# --- the link's format ----------------------------------------------------------------------


def test_the_link_has_nbgitpullers_format():
    link = nbgitpuller_link(
        "https://hub.example.org",
        notebook="labs/lab01-frame-lab.ipynb",
        repo="https://github.com/o/r.git",
        branch="main",
    )
    parts = urlsplit(link)
    assert parts.scheme == "https"
    assert parts.netloc == "hub.example.org"
    assert parts.path == "/hub/user-redirect/git-pull"
    assert link_parameters(link) == {
        "repo": "https://github.com/o/r.git",
        "urlpath": "lab/tree/go-scheduler-stalls/labs/lab01-frame-lab.ipynb",
        "branch": "main",
        "targetpath": "go-scheduler-stalls",
    }
    # encoded as the link generator's URLSearchParams does: every '/' and ':' escaped
    assert "repo=https%3A%2F%2Fgithub.com%2Fo%2Fr.git&urlpath=lab%2Ftree%2F" in link


def test_the_default_link_is_the_repository_and_start_notebook():
    params = link_parameters(nbgitpuller_link("http://10.0.0.5:8000/"))
    assert params["repo"] == "https://github.com/go-stalls-course/go-scheduler-stalls"
    assert params["urlpath"].endswith("/chapters/00-start-here.ipynb")
    base = nbgitpuller_link("https://example.org/jhub/")
    assert base.startswith("https://example.org/jhub/hub/user-redirect/git-pull?")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hub": "hub.example.org"}, "hub='hub.example.org'"),
        ({"hub": "ftp://hub.example.org"}, "http"),
        ({"hub": "https://h.org", "notebook": "chapters/"}, "notebook='chapters/'"),
        ({"hub": "https://h.org", "notebook": "../etc/x.ipynb"}, "inside the repository"),
        ({"hub": "https://h.org", "notebook": "/abs/x.ipynb"}, "inside the repository"),
    ],
)
def test_a_bad_link_argument_is_refused(kwargs, message):
    with pytest.raises(WorkshopLinkError, match=re.escape(message)):
        nbgitpuller_link(**kwargs)


def test_the_command_prints_the_link():
    out = subprocess.run(
        [sys.executable, "-m", "workshop.links", "--hub", "https://h.org", "--notebook",
         "labs/lab02-scheduler-lab.ipynb", "--branch", "dev"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert out == nbgitpuller_link(
        "https://h.org", notebook="labs/lab02-scheduler-lab.ipynb", branch="dev"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "workshop.links", "--hub", "h.org"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "hub='h.org'" in bad.stderr


# --- the link as nbgitpuller reads it -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory):
    """A plain Jupyter server from .venv (nbgitpuller's handlers load as they do in a learner's
    server), its root an empty home, all Jupyter state in a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    state = tmp_path_factory.mktemp("state")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(state / "config"),
               JUPYTER_DATA_DIR=str(state / "data"), JUPYTER_RUNTIME_DIR=str(state / "rt"),
               IPYTHONDIR=str(state / "ipython"))  # fmt: skip
    cmd = [sys.executable, "-m", "jupyter_server", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={home}", "--ServerApp.open_browser=False"]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                if requests.get(f"{url}api/status?token={token}", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.25)
        else:
            pytest.fail("the Jupyter server did not start")
        yield url, token, home
    finally:
        proc.terminate()
        proc.wait(30)


def _status_page(server, link: str) -> dict[str, str]:
    """nbgitpuller's git-pull page for the server part of ``link``: its data-* attributes (what
    nbgitpuller made of the link)."""
    url, token, _ = server
    query = urlsplit(link).query
    r = requests.get(f"{url}git-pull?{query}&token={token}", timeout=10)
    assert r.status_code == 200
    return _data_attrs(r.text)


def _opens_what_it_pulls(attrs: dict[str, str]) -> bool:
    return attrs["path"].startswith(f"lab/tree/{attrs['targetpath']}/")


def test_nbgitpuller_reads_the_link_as_meant(jupyter_server):
    link = nbgitpuller_link(
        "https://hub.example.org",
        notebook="chapters/03-flame-graphs.ipynb",
        repo="https://github.com/o/go-scheduler-stalls.git",
        branch="dev",
    )
    attrs = _status_page(jupyter_server, link)
    assert attrs["repo"] == "https://github.com/o/go-scheduler-stalls.git"
    assert attrs["branch"] == "dev"
    assert attrs["targetpath"] == "go-scheduler-stalls"
    assert attrs["path"] == "lab/tree/go-scheduler-stalls/chapters/03-flame-graphs.ipynb"
    assert _opens_what_it_pulls(attrs)


def test_a_link_without_targetpath_pulls_one_folder_and_opens_another(jupyter_server):
    """Why the link names targetpath: for a URL ending in .git, nbgitpuller's default folder
    keeps '.git' while the link generator's urlpath drops it. The check sees the mismatch."""
    link = nbgitpuller_link("https://h.org", repo="https://github.com/o/go-scheduler-stalls.git")
    generator_style = link.replace("&targetpath=go-scheduler-stalls", "")
    attrs = _status_page(jupyter_server, generator_style)
    assert attrs["targetpath"] == "go-scheduler-stalls.git"
    assert not _opens_what_it_pulls(attrs)


def test_the_link_pulls_a_local_clone_and_the_notebook_is_there(jupyter_server, tmp_path):
    """The whole page flow without a hub: the status page, then its sync API (as its script
    does) from a file:// repository, then the notebook the link opens exists."""
    upstream = tmp_path / "course"
    (upstream / "chapters").mkdir(parents=True)
    (upstream / "chapters" / "00-start-here.ipynb").write_text("{}")
    git(upstream, "init", "-q")
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "course")
    url, token, home = jupyter_server
    link = nbgitpuller_link("https://h.org", repo=upstream.as_uri(), branch="main")
    attrs = _status_page(jupyter_server, link)
    params = {"repo": attrs["repo"], "targetpath": attrs["targetpath"], "branch": "main",
              "token": token}  # fmt: skip
    with requests.get(f"{url}git-pull/api", params=params, stream=True, timeout=60) as r:
        phases = [line for line in r.iter_lines(decode_unicode=True) if line.startswith("data:")]
    assert '"phase": "finished"' in phases[-1], phases
    opened = home / attrs["path"].removeprefix("lab/tree/")
    assert opened == home / "go-scheduler-stalls" / "chapters" / "00-start-here.ipynb"
    assert opened.read_text() == "{}"


# --- a learner's second click ---------------------------------------------------------------


def nbgitpuller_pull(url: str, dest: Path) -> None:
    for _ in GitPuller(url, str(dest), branch="main").pull():
        pass


def overwriting_pull(url: str, dest: Path) -> None:
    """A pull that takes upstream as it is (what a plain 'reset to origin' would do)."""
    if not dest.exists():
        subprocess.run(["git", "clone", "-q", url, str(dest)], check=True)
        return
    git(dest, "fetch", "-q")
    git(dest, "reset", "-q", "--hard", "origin/main")


# A notebook as lines (nbformat writes one JSON value per line); the exercise and the outro are
# cells apart, as in a real notebook: git merges edits a few lines apart, not adjacent ones.
NOTEBOOK_V1 = (
    "\n".join(
        [
            "{",
            '"intro",',
            '"exercise: answer here",',
            *[f'"cell {i}",' for i in range(5)],
            '"outro"',
            "}",
        ]
    )
    + "\n"
)


def second_click(pull, tmp_path: Path) -> dict[str, str]:
    """First click, the learner edits, upstream changes, second click: what the learner has.

    Upstream changes another file, adds one, and edits the notebook's last line; the learner
    answered the exercise in the same notebook (another line) and added a file of their own.
    """
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "chapter.ipynb").write_text(NOTEBOOK_V1)
    (upstream / "labkit.txt").write_text("v1\n")
    git(upstream, "init", "-q")
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "v1")
    home = tmp_path / "home" / "go-scheduler-stalls"
    home.parent.mkdir()
    pull(upstream.as_uri(), home)
    nb = home / "chapter.ipynb"
    nb.write_text(nb.read_text().replace("answer here", "my answer: 42"))
    (home / "notes.txt").write_text("mine\n")
    (upstream / "labkit.txt").write_text("v2\n")
    (upstream / "new-lab.ipynb").write_text("{}\n")
    up = upstream / "chapter.ipynb"
    up.write_text(up.read_text().replace('"outro"', '"outro, revised"'))
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "v2")
    pull(upstream.as_uri(), home)
    return {p.name: p.read_text() for p in home.iterdir() if p.is_file()}


def keeps_edits_and_merges(files: dict[str, str]) -> list[str]:
    """What went wrong on the second click ([] when the learner kept everything and got
    every upstream change)."""
    wrong = []
    if "my answer: 42" not in files.get("chapter.ipynb", ""):
        wrong.append("the learner's answer in chapter.ipynb was overwritten")
    if files.get("notes.txt") != "mine\n":
        wrong.append("the learner's own file notes.txt was lost")
    if "outro, revised" not in files.get("chapter.ipynb", ""):
        wrong.append("upstream's change to chapter.ipynb was not merged")
    if files.get("labkit.txt") != "v2\n":
        wrong.append("upstream's change to labkit.txt was not merged")
    if "new-lab.ipynb" not in files:
        wrong.append("upstream's new file new-lab.ipynb did not arrive")
    return wrong


def test_nbgitpullers_second_pull_merges_and_keeps_the_learners_edits(tmp_path):
    assert keeps_edits_and_merges(second_click(nbgitpuller_pull, tmp_path)) == []


def test_a_pull_that_overwrites_is_caught(tmp_path):
    assert keeps_edits_and_merges(second_click(overwriting_pull, tmp_path)) == [
        "the learner's answer in chapter.ipynb was overwritten",
    ]


def test_nbgitpuller_keeps_the_learners_line_when_upstream_changed_the_same_one(tmp_path):
    """A conflict on the very line the learner edited: nbgitpuller merges with -Xours, so the
    learner's line stays (upstream's version of that line is not applied)."""
    upstream = tmp_path / "up"
    upstream.mkdir()
    (upstream / "nb.ipynb").write_text("a\nanswer here\nc\n")
    git(upstream, "init", "-q")
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "v1")
    home = tmp_path / "home"
    nbgitpuller_pull(upstream.as_uri(), home)
    (home / "nb.ipynb").write_text("a\nmy answer\nc\n")
    (upstream / "nb.ipynb").write_text("a\nanswer below\nc\n")
    git(upstream, "commit", "-qam", "v2")
    nbgitpuller_pull(upstream.as_uri(), home)
    assert (home / "nb.ipynb").read_text() == "a\nmy answer\nc\n"
