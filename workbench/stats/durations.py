"""Durations in the words findings use."""

from __future__ import annotations

import datetime as dt


def format_duration(td: dt.timedelta | float | None) -> str:
    """Short human form of a duration ('3.5h', '12d', '40s'); accepts seconds as float."""
    if td is None:
        return "n/a"
    seconds = td.total_seconds() if isinstance(td, dt.timedelta) else float(td)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            value = seconds / size
            text = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
            return f"{sign}{text}{unit}"
    return f"{sign}{seconds:.0f}s"
