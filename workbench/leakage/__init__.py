"""Point-in-time leakage auditor.

>>> from workbench.leakage import audit_leakage, Source, window, asof, static
"""

from workbench.leakage.audit import audit_leakage
from workbench.leakage.spec import (
    AGGREGATIONS,
    VIOLATION_KINDS,
    AsOf,
    PointInTimeRule,
    Source,
    Static,
    WindowAggregate,
    asof,
    make_rule,
    parse_duration,
    static,
    window,
)

__all__ = [
    "AGGREGATIONS",
    "VIOLATION_KINDS",
    "AsOf",
    "PointInTimeRule",
    "Source",
    "Static",
    "WindowAggregate",
    "asof",
    "audit_leakage",
    "make_rule",
    "parse_duration",
    "static",
    "window",
]
