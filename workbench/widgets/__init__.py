"""Interactive notebook explorers (ipywidgets + plotly.js: :mod:`workbench.widgets.plot`). They render results;
they never compute.

One explorer per kind of result, each opened with ``<Explorer>.from_result(result)``:

============== ======================= ==========================================================
result.check   explorer                shows
============== ======================= ==========================================================
leakage        ``LeakageExplorer``     lag histogram and leaking rows per feature, lateness
drift          ``DriftExplorer``       effects with intervals, columns × windows, distributions
shadow         ``ShadowExplorer``      verdict, guardrails, latency, disagreement, accuracy
performance    ``SubgroupExplorer``    ranked alerts, a segment over time, segments × windows
calibration    ``CalibrationExplorer`` reliability diagrams and the calibration table
service        ``ServiceExplorer``     alerts and their scope, incident timeline, stages, rates, queues, GPUs
============== ======================= ==========================================================

A performance result given a score and a reference also carries calibration tables:
``CalibrationExplorer.from_result(result)`` shows them. :func:`explore` picks the explorer of any
result.
"""

from __future__ import annotations

from workbench.errors import ConfigError
from workbench.findings.model import CheckResult
from workbench.widgets.base import Explorer
from workbench.widgets.drift import DriftExplorer
from workbench.widgets.leakage import LeakageExplorer
from workbench.widgets.performance import CalibrationExplorer, SubgroupExplorer
from workbench.widgets.service import ServiceExplorer
from workbench.widgets.shadow import ShadowExplorer

EXPLORERS: dict[str, type[Explorer]] = {
    "leakage": LeakageExplorer,
    "drift": DriftExplorer,
    "shadow": ShadowExplorer,
    "performance": SubgroupExplorer,
    "calibration": CalibrationExplorer,
    "service": ServiceExplorer,
}


def explore(result: CheckResult) -> Explorer:
    """The explorer of ``result``, chosen by ``result.check`` (see :data:`EXPLORERS`).

    A performance result opens in :class:`SubgroupExplorer` (its alerts and segments); when the
    check was given a score and a reference it also has calibration tables, which
    ``CalibrationExplorer.from_result(result)`` shows. Raises :class:`ConfigError` for a check no
    explorer shows (e.g. ``skew`` or ``multivariate``), or a result without the tables its explorer reads.
    """
    explorer = EXPLORERS.get(result.check)
    if explorer is None:
        raise ConfigError(f"explore: no explorer shows {result.check!r} results (explorers show "
                          f"{', '.join(sorted(EXPLORERS))}); display the result itself for its findings table.")
    return explorer.from_result(result)


__all__ = ["EXPLORERS", "CalibrationExplorer", "DriftExplorer", "Explorer", "LeakageExplorer", "ServiceExplorer",
           "ShadowExplorer", "SubgroupExplorer", "explore"]
