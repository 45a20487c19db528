"""First-widget benchmark: how long a fresh kernel takes to show the drift explorer of the sample data.

    python bench/widget_load.py [--repeat 3]

Each round starts a new ipykernel (jupyter_client), runs the explorer cell a notebook user runs
first (``DriftExplorer.from_result(check_drift(...))`` on ``sample_data/monitoring``), and times
from sending the cell to the kernel's widget display message; inside the kernel the cell also
times its parts (importing ``workbench.widgets``, the check, building and displaying the
explorer). Separately, ``import workbench.widgets`` alone is timed in fresh processes. The kernel
runs this interpreter with this checkout first on its path. Target (issue 21): first display
≤ 2 s; the check alone takes about 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CELL = """\
import time as _t, json as _j
_t0 = _t.perf_counter()
from workbench.drift import check_drift
from workbench.widgets import DriftExplorer
_t1 = _t.perf_counter()
_r = check_drift('sample_data/monitoring/reference.parquet', 'sample_data/monitoring/current', timestamp='ts',
                 exclude=['request_id'], score='score', target='label')
_t2 = _t.perf_counter()
_e = DriftExplorer.from_result(_r)
display(_e)
_t3 = _t.perf_counter()
print(_j.dumps({'import': _t1 - _t0, 'check': _t2 - _t1, 'explorer': _t3 - _t2}))
"""


def first_display() -> dict[str, float]:
    """One fresh kernel: seconds from sending the explorer cell to its widget display, and the parts."""
    from jupyter_client.manager import start_new_kernel

    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=env)
    try:
        kc.execute("pass", reply=True, timeout=60)  # the kernel is up and idle
        start = time.perf_counter()
        msg_id = kc.execute(CELL)
        shown, parts = None, None
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data" and WIDGET_MIME in content["data"] and shown is None:
                shown = time.perf_counter() - start
            elif kind == "stream" and content["text"].startswith("{"):
                parts = json.loads(content["text"])
            elif kind == "error":
                raise RuntimeError("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                break
        if shown is None or parts is None:
            raise RuntimeError("the cell showed no widget")
        return {"first_display": shown, **parts}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def import_time() -> float:
    """Seconds to import workbench.widgets in a fresh interpreter (measured inside it)."""
    code = "import time; t = time.perf_counter(); import workbench.widgets; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT,
                         env=os.environ | {"PYTHONPATH": str(ROOT)})
    return float(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rounds = [first_display() for _ in range(a.repeat)]
    imports = [import_time() for _ in range(a.repeat)]
    print(f"{'measure':34} {'median s':>9}  rounds")
    for key, label in (("first_display", "first explorer display (kernel)"), ("import", "  imports in the cell"),
                       ("check", "  check_drift"), ("explorer", "  explorer built + displayed")):
        runs = [r[key] for r in rounds]
        print(f"{label:34} {statistics.median(runs):9.2f}  {[round(r, 2) for r in runs]}")
    label = "import workbench.widgets (process)"
    print(f"{label:34} {statistics.median(imports):9.2f}  {[round(r, 2) for r in imports]}")


if __name__ == "__main__":
    main()
