"""A tiny report template for tests of runs, history and cancellation: one parameter cell and one
cell that waits ``TINY_PAUSE`` seconds, fails when ``TINY_FAIL`` is set (both from the
environment, so the run id stays the same) and writes one critical finding."""

from __future__ import annotations

from pathlib import Path

SOURCE = """import json, os, time
time.sleep(float(os.environ.get("TINY_PAUSE") or 0))
if os.environ.get("TINY_FAIL"):
    raise RuntimeError("asked to fail")
folder = os.environ.get("WORKBENCH_FINDINGS_DIR")
if folder:
    doc = {"findings": [{"severity": "critical", "kind": "tiny", "message": f"tiny alert {label}"}]}
    with open(os.path.join(folder, "tiny.json"), "w") as fh:
        json.dump(doc, fh)
print(label)"""


def write_tiny(root: Path) -> Path:
    """``root/notebooks/reports/tiny.ipynb`` (where the server finds templates); returns its path."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('label = "a"  # any text')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(SOURCE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = root / "notebooks" / "reports" / "tiny.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
