"""The reserved prefix of the leakage audit's internal (helper) columns.

Every column the audit adds inside a computation is named ``__wb_<name>`` (``__wb_entity``,
``__wb_pt``, ``__wb_status``, ...), and the audit selects only the user columns it uses before
adding one, so a user column can never collide with a helper. A used user column whose name
starts with the prefix is refused at the boundary (:func:`refuse_reserved`). Result tables keep
readable names (``feature``, ``rows``, ...): the prefix never reaches the user.
"""

from __future__ import annotations

from workbench.engine.reserved import PREFIX, refuse_reserved

__all__ = ["PREFIX", "refuse_reserved"]
