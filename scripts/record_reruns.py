"""Record the spread of reruns chapter 5b reads its fixes against (labkit.golab.services.reruns).

Runs the dashboard service live, no fix and each fix alone, N times each, interleaved, and writes
labkit/golab/services/recorded/reruns.json. About 10 s a run: the default 6 x 4 runs take ~4
minutes. Record on a quiet machine (the file keeps the load average before and after).

    .venv/bin/python scripts/record_reruns.py        # 6 reruns of each setting
    .venv/bin/python scripts/record_reruns.py 10     # 10
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labkit.golab.services.reruns import RERUNS, record_reruns, verdict  # noqa: E402


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 6
    data = record_reruns(n)
    base = data["p99_ms"]["no fix"]
    for name, values in data["p99_ms"].items():
        shown = ", ".join(f"{v:.0f}" for v in sorted(values))
        print(f"{name:12s} p99 ms {shown}   vs no fix: {verdict(values, base)}")
    print(f"-> {RERUNS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
