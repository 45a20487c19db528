"""Localized performance drops: found with the right segment and window, worded as an alert a
person acts on; silence on logs with nothing planted; tiny cells never alert."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest

from workbench.errors import WorkbenchError
from workbench.performance import check_subgroups

START = np.datetime64("2026-03-01T00:00:00", "us")


def hourly_logs(seed: int, *, drop_eu: float = 0.0, hours_dropped: int = 6, per_hour: int = 600,
                regression: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = 168 * per_hour
    hours = np.repeat(np.arange(168), per_hour)
    ts = START + (hours * 3600 + rng.integers(0, 3600, n)).astype("timedelta64[s]").astype("timedelta64[us]")
    region = rng.choice(["us", "eu", "apac", "latam"], n, p=[0.4, 0.3, 0.2, 0.1])
    device = rng.choice(["mobile", "desktop"], n)
    late = (region == "eu") & (hours >= 168 - hours_dropped)
    if regression:
        y = rng.normal(100, 20, n)
        pred = y + rng.normal(0, np.where(late, 10 * (1 + drop_eu), 10), n)
        return pl.DataFrame({"ts": ts, "region": region, "device": device, "y": y, "pred": pred})
    y = rng.integers(0, 2, n)
    acc = np.where(late, 0.9 - drop_eu, 0.9)
    pred = np.where(rng.random(n) < acc, y, 1 - y)
    return pl.DataFrame({"ts": ts, "region": region, "device": device, "y": y, "pred": pred})


def test_a_localized_drop_is_found_with_its_segment_and_window_and_worded_for_action():
    result = check_subgroups(hourly_logs(1, drop_eu=0.15), target="y", prediction="pred", by=["region", "device"],
                             timestamp="ts", window="1h")
    drops = result.by_kind("performance_drop")
    eu = [f for f in drops if f.scope.get("segment") == {"region": "eu"}]
    assert len(eu) == 1 and eu[0].severity == "critical"
    assert eu[0].scope["window"] == ["2026-03-07T18:00:00", "2026-03-08T00:00:00"]
    assert eu[0].message.startswith("Accuracy dropped 1")
    assert re.search(r"points on region=eu in the last 6 hours \((89|90)\.\d% → 7\d\.\d%, n=1,\d{3}; 99\.9% "
                     r"confidence\)", eu[0].message), eu[0].message
    # narrower scopes in the same span are covered, not repeated
    assert not [f for f in drops if f.scope.get("segment", {}).get("region") == "eu" and len(f.scope["segment"]) > 1]
    # the drop of all traffic in those hours is explained by eu's, not repeated
    assert list(drops) == eu and "all traffic" in eu[0].metrics["explains"]
    window = result.to_polars("windows").filter((pl.col("scope") == "region=eu")
                                                & (pl.col("window_start") == dt.datetime(2026, 3, 7, 23)))
    logs = hourly_logs(1, drop_eu=0.15).filter((pl.col("region") == "eu")
                                               & (pl.col("ts") >= dt.datetime(2026, 3, 7, 23)))
    assert window["n"].item() == logs.height
    assert window["value"].item() == pytest.approx((logs["y"] == logs["pred"]).mean())


@pytest.mark.parametrize("seed", range(5))
def test_no_alert_on_logs_with_nothing_planted(seed):
    result = check_subgroups(hourly_logs(100 + seed), target="y", prediction="pred", by=["region", "device"],
                             timestamp="ts", window="1h")
    tested = int(result.to_polars("windows")["tested"].sum())
    assert tested > 1000
    assert len(result.findings) <= tested / 1000


def test_tiny_cells_are_not_tested_and_never_alert():
    logs = hourly_logs(3, per_hour=60)  # ~6 rows per hour in latam
    logs = logs.with_columns(pred=pl.when((pl.col("region") == "latam") & (pl.col("ts") >= dt.datetime(2026, 3, 7,
                                                                                                        23)))
                             .then(1 - pl.col("y")).otherwise(pl.col("pred")))
    result = check_subgroups(logs, target="y", prediction="pred", by=["region"], timestamp="ts", window="1h")
    cell = result.to_polars("windows").filter((pl.col("scope") == "region=latam")
                                              & (pl.col("window_start") == dt.datetime(2026, 3, 7, 23)))
    assert cell["value"].item() == 0.0 and not cell["tested"].item()
    assert not result.by_kind("performance_drop")


def test_a_regression_drop_is_an_mae_rise():
    result = check_subgroups(hourly_logs(4, drop_eu=0.8, regression=True), target="y", prediction="pred", by=["region"],
                             timestamp="ts", window="6h")
    (f,) = [f for f in result.by_kind("performance_drop") if f.scope.get("segment") == {"region": "eu"}]
    assert f.message.startswith("MAE rose") and "in the last 6 hours" in f.message


def test_time_zone_aware_timestamps_keep_their_zone_in_the_windows():
    logs = hourly_logs(5, drop_eu=0.15).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    result = check_subgroups(logs, target="y", prediction="pred", by=["region"], timestamp="ts", window="6h")
    (f,) = [f for f in result.by_kind("performance_drop") if f.scope.get("segment") == {"region": "eu"}]
    assert f.scope["window"] == ["2026-03-07T18:00:00+00:00", "2026-03-08T00:00:00+00:00"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"window": "1h"}, "window needs timestamp"),
     ({"timestamp": "region"}, "timestamp column 'region' must be a datetime"),
     ({"timestamp": "ts", "window": "soon"}, "The 'window' parameter of check_subgroups must be a duration such as "
                                              "'90d', '6h', '15m' or '30s'; cannot read 'soon'")],
)
def test_bad_time_options_are_refused(kwargs, message):
    with pytest.raises(WorkbenchError, match=message):
        check_subgroups(hourly_logs(6, per_hour=20), target="y", prediction="pred", by=["region"], **kwargs)
