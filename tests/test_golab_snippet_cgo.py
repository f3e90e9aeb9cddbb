"""run_go's extra files and cgo: a snippet may bring more files of its package, and with
``cgo=True`` call into C (CGO_ENABLED=1: the stall corpus's cgo case needs it). Bad arguments
say what to pass; without cgo a file that imports "C" is Go's own build error."""

from __future__ import annotations

import shutil

import pytest
from go_toolchain import require_go

from labkit.golab.snippet import GoBuildError, SnippetError, run_go

MAIN = """package main

import "fmt"

func main() { fmt.Println(twice(21)) }
"""

C_FILE = """package main

// static int twice_c(int x) { return 2 * x; }
import "C"

func twice(x int) int { return int(C.twice_c(C.int(x))) }
"""


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"files": ["x.go"]}, "files must be None or a mapping"),
        ({"files": {"../x.go": ""}}, "not a file name run_go can add"),
        ({"files": {"cell.go": ""}}, "not a file name run_go can add"),
        ({"files": {"zz_labkit_trace.go": ""}}, "not a file name run_go can add"),
        ({"files": {"x.txt": ""}}, "not a file name run_go can add"),
        ({"files": {"x.go": b"package main"}}, "must map to the file's Go text"),
        ({"cgo": 1}, "cgo must be True or False"),
    ],
)
def test_bad_files_and_cgo_say_what_to_pass(kwargs, says):
    with pytest.raises(SnippetError, match=says):
        run_go(MAIN, **kwargs)


def test_an_extra_file_is_built_with_the_snippet():
    require_go()
    other = "package main\n\nfunc twice(x int) int { return 2 * x }\n"
    run = run_go(MAIN, files={"twice.go": other}, trace=False)
    assert run.ok and run.stdout.strip() == "42"


def test_cgo_builds_a_call_into_c_and_without_it_go_says_why_not():
    require_go()
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler: cgo cannot build here")
    run = run_go(MAIN, files={"twice_c.go": C_FILE}, cgo=True, trace=False)
    assert run.ok and run.stdout.strip() == "42"
    with pytest.raises(GoBuildError, match="undefined: twice"):
        run_go(MAIN, files={"twice_c.go": C_FILE}, trace=False)  # CGO_ENABLED=0 drops the file
