"""The nbgitpuller link a learner clicks: pull the course into their home, open a notebook.

The format is nbgitpuller's own (its link generator, ``generateRegularUrl`` in
nbgitpuller/docs/_static/link_gen/link.js): ``<hub>/hub/user-redirect/git-pull?repo=..&urlpath=
..&branch=..``, the query encoded as a browser's URLSearchParams does. JupyterHub's
``user-redirect`` sends each learner to their own server's ``git-pull`` page (nbgitpuller's
``UIHandler``), which clones the repository on the first click and, on later clicks, merges
upstream changes while keeping the learner's edits (``GitPuller.update``: commit local changes,
then ``git merge -Xours``), then opens ``urlpath``.

The link also names ``targetpath`` (the folder in the learner's home): nbgitpuller's default is
the repository URL's last segment, ``.git`` included, while the link generator strips ``.git``
from the folder it puts in ``urlpath``; naming it keeps the two the same for every URL.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from workshop.settings import Settings, WorkshopSettingsError, load, repository_url


class WorkshopLinkError(WorkshopSettingsError):
    """A link argument that nbgitpuller would misread (the message says which and why)."""


def server_path(
    repo: str, branch: str, target_dir: str, notebook: str, settings: Settings | None = None
) -> str:
    """The part of the link a learner's own server serves: ``git-pull?...`` (no leading slash).
    JupyterHub's ``Spawner.default_url`` takes it with a leading slash."""
    settings = settings or load()
    if not repo:
        raise WorkshopLinkError("repo='': give the repository's git URL or a local clone's path")
    if not notebook.endswith(".ipynb") or notebook.startswith("/") or ".." in notebook.split("/"):
        raise WorkshopLinkError(
            f"notebook={notebook!r}: expected a notebook's path inside the repository, e.g. "
            f"'{settings.default_notebook}'"
        )
    if not target_dir or "/" in target_dir or target_dir in {".", ".."}:
        raise WorkshopLinkError(
            f"target_dir={target_dir!r}: expected one folder name for the learner's home, "
            f"e.g. '{settings.target_dir}'"
        )
    query = {"repo": repo, "urlpath": f"lab/tree/{target_dir}/{notebook}"}
    if branch:
        query["branch"] = branch
    query["targetpath"] = target_dir
    return "git-pull?" + urlencode(query)


def nbgitpuller_link(
    hub: str,
    notebook: str | None = None,
    repo: str | None = None,
    branch: str | None = None,
    settings: Settings | None = None,
) -> str:
    """The link to hand out: ``hub`` is the hub's address (``https://hub.example.org``, or with a
    base URL ``https://example.org/jhub/``); the other arguments default to settings.toml and
    pyproject.toml's repository URL."""
    settings = settings or load()
    parts = urlsplit(hub)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query:
        raise WorkshopLinkError(
            f"hub={hub!r}: expected the hub's address, http(s)://host[:port][/base/], e.g. "
            "https://hub.example.org"
        )
    base = hub.rstrip("/") + "/"
    path = server_path(
        repo or repository_url(),
        settings.branch if branch is None else branch,
        settings.target_dir,
        notebook or settings.default_notebook,
        settings,
    )
    return f"{base}hub/user-redirect/{path}"


def link_parameters(link: str) -> dict[str, str]:
    """The query parameters of a link, decoded (one value each), as tornado's get_argument
    reads them."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}


def main(argv: list[str]) -> int:
    import argparse

    settings = load()
    p = argparse.ArgumentParser(
        prog="python3 course.py workshop-link",
        description="Print the nbgitpuller link that pulls the course into each learner's home "
        "on the hub and opens a notebook in JupyterLab.",
    )
    p.add_argument("--hub", required=True, help="the hub's address, e.g. https://hub.example.org")
    p.add_argument("--notebook", default=settings.default_notebook, help="notebook to open")
    p.add_argument("--repo", help="repository to pull (default: pyproject.toml's)")
    p.add_argument("--branch", default=settings.branch, help=f"default {settings.branch}")
    opts = p.parse_args(argv)
    try:
        print(nbgitpuller_link(opts.hub, opts.notebook, opts.repo, opts.branch, settings))
    except WorkshopLinkError as e:
        p.error(str(e))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
