"""Time columns compared by mistake: a datetime column that is not the ``timestamp`` moves on with the
clock between the reference period and current, so comparing its distribution only says that time passed.

Such a column (over all of current, at least :data:`CLOCK_SHARE` of its values lie after the reference's
last value) is not compared: its records are dropped before the tests (it is in no test family) and one
``time_column`` finding (info) says what it is and how to use it instead.
"""

from __future__ import annotations

from typing import Any

from workbench.drift.decide import format_value
from workbench.findings.model import Finding

CLOCK_SHARE = 0.5  # share of current's values after the reference's last value that makes a column a clock


def clock_columns(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Current column → its all-of-current record, for every datetime column whose values lie mostly
    after the reference's last value."""
    out = {}
    for r in records:
        oor, valid = r.get("out_of_range"), r.get("valid") or 0
        if r["kind"] == "datetime" and r["scope"].kind == "all" and oor and valid and \
                oor["above"] / valid >= CLOCK_SHARE:
            out[r["column"]] = r
    return out


def time_column_finding(r: dict[str, Any], timestamp: str | None) -> Finding:
    """The ``time_column`` finding of a clock column's record ``r`` (``timestamp``: the time column given,
    if any: the advice is then to leave this one out)."""
    col, oor, valid = r["column"], r["out_of_range"], r["valid"]
    last = format_value(oor["high_value"], "datetime")
    text = (f"Column {col!r} holds times: {oor['above'] / valid:.1%} of its current values ({oor['above']:,} of "
            f"{valid:,}) lie after the reference's last time ({last}), as a clock does between two periods. It was "
            "not compared for drift.")
    if timestamp is None:
        suggestion = (f"Pass it as the time column to compare current window by window: timestamp={col!r} "
                      f"(CLI: --timestamp {col}); or leave it out with exclude=[{col!r}] (--exclude {col}).")
    else:
        suggestion = f"Leave it out with exclude=[{col!r}] (CLI: --exclude {col}); the time column is {timestamp!r}."
    metrics = {"n": int(valid), "affected_rows": int(oor["above"]), "affected_share": oor["above"] / valid,
               "reference_last": last}
    return Finding("drift", "time_column", "info", col, text, suggestion, metrics, {})
