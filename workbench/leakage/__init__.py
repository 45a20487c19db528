"""Point-in-time leakage auditor.

>>> from workbench.leakage import check_leakage, Source, window, asof, static
"""

from workbench.leakage.audit import check_leakage
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
from workbench.params import deprecated_alias

# earlier names, kept for one release: each warns (DeprecationWarning naming the new name) and delegates
audit_leakage = deprecated_alias("audit_leakage", "check_leakage", "workbench.leakage.audit")

__all__ = [
    "AGGREGATIONS",
    "VIOLATION_KINDS",
    "AsOf",
    "PointInTimeRule",
    "Source",
    "Static",
    "WindowAggregate",
    "asof",
    "check_leakage",
    "make_rule",
    "parse_duration",
    "static",
    "window",
]
