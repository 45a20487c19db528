"""Report benchmark: each template run end to end on its sample data, cold kernel.

    python bench/bench_report.py [--repeat 3]

Each run is a fresh ``workbench report run TEMPLATE`` process (parameter checks, a new kernel,
the check, plotly figures, HTML export, findings and run record), timed from outside.
Target (issue 7): under 30 s end to end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

TEMPLATES = ("leakage", "drift", "performance", "shadow")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    times: dict[str, list[float]] = {t: [] for t in TEMPLATES}
    for _ in range(a.repeat):
        for template in TEMPLATES:
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "workbench.cli", "report", "run", template, "--out", out,
                                "--fail-on", "none"], check=True, capture_output=True)
                times[template].append(time.perf_counter() - start)
    print(f"{'template':12} {'median s':>9}  runs (target < 30 s)")
    for template, runs in times.items():
        print(f"{template:12} {statistics.median(runs):9.2f}  {[round(r, 2) for r in runs]}")


if __name__ == "__main__":
    main()
