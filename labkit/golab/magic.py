"""``%%go``: run a notebook cell as a Go program, traced (an IPython extension).

    %load_ext labkit.golab.magic

    %%go --gomaxprocs 2 --timeout 10
    package main
    ...

The cell is built and run by ``labkit.golab.snippet.run_go``; the program's output is shown as
it printed it (stdout, then stderr), then one line naming how it ended and what its execution
trace holds. The run (a ``GoRun``: ``.trace``, ``.cpu_profile``, ``.stdout`` ...) is stored
in the notebook's namespace as ``_go`` (``--out NAME`` picks another name), ready for the
course's widgets. A compile error shows Go's messages with the cell's line numbers (line 1 is
the ``%%go`` line, as the notebook numbers it), without a Python traceback.

Only loading the extension imports IPython: nothing in ``labkit`` imports this module.
"""

from __future__ import annotations

import sys

from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from labkit.golab.errors import GolabError
from labkit.golab.snippet import run_go

USAGE = "Options: --gomaxprocs N --godebug S --timeout SECONDS --no-trace --cpuprofile --out NAME"


@magic_arguments()
@argument("--gomaxprocs", type=int, default=None, help="GOMAXPROCS for the run")
@argument("--godebug", default=None, help="GODEBUG for the run, e.g. asyncpreemptoff=1")
@argument("--timeout", type=float, default=30.0, help="seconds before the run is stopped")
@argument("--no-trace", action="store_true", help="do not record an execution trace")
@argument("--cpuprofile", action="store_true", help="record a CPU profile too")
@argument("--out", default="_go", help="name to store the GoRun under (default: _go)")
def go(line: str, cell: str):
    """Build and run the cell (a main package) with the course's Go toolchain, traced."""
    from IPython import get_ipython

    try:
        args = parse_argstring(go, line)
    except Exception as exc:  # UsageError and argparse's own
        print(f"%%go: {exc}. {USAGE}", file=sys.stderr)
        return None
    try:
        # A leading newline: the cell's line 1 is the %%go line, so Go's line numbers are the
        # notebook's.
        result = run_go(
            "\n" + cell,
            gomaxprocs=args.gomaxprocs,
            godebug=args.godebug,
            timeout_s=args.timeout,
            trace=not args.no_trace,
            cpuprofile=args.cpuprofile,
        )
    except GolabError as exc:
        print(str(exc), file=sys.stderr)
        return None
    if result.stdout:
        sys.stdout.write(result.stdout)
        if not result.stdout.endswith("\n"):
            sys.stdout.write("\n")
    if result.stderr:
        sys.stderr.write(result.stderr)
        if not result.stderr.endswith("\n"):
            sys.stderr.write("\n")
    print(result.summary())
    shell = get_ipython()
    if shell is not None:
        shell.user_ns[args.out] = result
    return None


def load_ipython_extension(ipython) -> None:
    """``%load_ext labkit.golab.magic`` registers ``%%go``."""
    ipython.register_magic_function(go, magic_kind="cell", magic_name="go")


def unload_ipython_extension(ipython) -> None:
    """Nothing to undo: IPython drops the magic with the extension."""
