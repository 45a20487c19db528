"""Feature timestamps, backfilled tables, staleness and proxies on small hand-checked cases."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from workbench.leakage import Source, asof, check_leakage, make_rule

T0 = dt.datetime(2025, 3, 1, 12)
D = dt.timedelta(days=1)


def test_feature_timestamps_at_or_after_the_prediction_are_future_data():
    training = pl.DataFrame({
        "id": [1, 2, 3, 4], "pt": [T0] * 4, "score": [0.1, 0.2, 0.3, 0.4],
        "score_time": [T0 - D, T0, T0 + 2 * D, T0 - 3 * D],
    })
    result = check_leakage(training, entity="id", prediction_time="pt", feature_timestamps={"score": "score_time"})
    (finding,) = result.by_kind("future_data")
    assert finding.subject == "score" and finding.metrics["affected_rows"] == 2
    assert finding.metrics["lag_seconds"]["max"] == 2 * 86400
    assert finding.metrics["timestamp_column"] == "score_time"
    inclusive = check_leakage(training, entity="id", prediction_time="pt", feature_timestamps={"score": "score_time"},
                              rule=make_rule(inclusive=True))
    assert inclusive.by_kind("future_data")[0].metrics["affected_rows"] == 1


def test_backfilled_snapshots_written_after_the_prediction_are_late_arrivals():
    # Snapshot valid on day -1 exists since day -1 + 1h; a backfill rewrote day -2 .. day 0 on day +5.
    snaps = pl.DataFrame({
        "id": [1, 1, 1, 1],
        "valid": [T0 - 3 * D, T0 - 2 * D, T0 - D, T0 - D],
        "written": [T0 - 3 * D, T0 + 5 * D, T0 - D + dt.timedelta(hours=1), T0 + 5 * D],
        "tier": [1, 2, 3, 30],
    })
    training = pl.DataFrame({"id": [1, 1], "pt": [T0, T0 + 6 * D], "tier": [30, 30]})
    result = check_leakage(training, entity="id", prediction_time="pt",
                           sources={"s": Source(snaps, entity="id", time="valid", available_time="written")},
                           features={"tier": asof("s", "tier")})
    (late,) = result.by_kind("late_arrival")
    assert late.metrics["affected_rows"] == 1  # the backfilled value was unknowable at T0, known by T0 + 6d
    assert late.metrics["lag_seconds"]["max"] == 5 * 86400
    example = result.to_polars("examples").row(0, named=True)
    assert example["training_value"] == "30" and example["point_in_time_value"] == "3"
    # A feature store that ignores write times calls the same value legal; the result says so.
    relaxed = check_leakage(training, entity="id", prediction_time="pt",
                            sources={"s": Source(snaps, entity="id", time="valid", available_time="written")},
                            features={"tier": asof("s", "tier")}, rule=make_rule(use_available_time=False))
    assert relaxed.at_least("warning") == ()
    assert "available_time ignored" in relaxed.parameters["rule"]["statement"]


def test_staleness_against_ttl_counts_rows_with_old_snapshots():
    snaps = pl.DataFrame({"id": [1, 2], "valid": [T0 - 2 * D, T0 - 20 * D], "v": [1.0, 2.0]})
    training = pl.DataFrame({"id": [1, 2], "pt": [T0, T0], "v": [1.0, 2.0]})
    result = check_leakage(training, entity="id", prediction_time="pt",
                           sources={"s": Source(snaps, entity="id", time="valid")},
                           features={"v": asof("s", "v", ttl="7d")})
    (stale,) = result.by_kind("stale_feature")
    assert stale.metrics["affected_rows"] == 1 and stale.metrics["age_seconds"]["max"] == 20 * 86400
    assert not result.by_kind("feature_mismatch")


@pytest.mark.parametrize("lineage,severity", [("none", "critical"), ("clean", "info")])
def test_a_perfect_predictor_is_graded_by_its_lineage(lineage, severity):
    n = 400
    training = pl.DataFrame({"id": list(range(n)), "pt": [T0] * n, "y": [i % 2 for i in range(n)],
                             "f": [float(i % 2) for i in range(n)],
                             "f_time": [T0 - D] * n})
    stamps = {"f": "f_time"} if lineage == "clean" else {}
    result = check_leakage(training, entity="id", prediction_time="pt", target="y", feature_timestamps=stamps)
    (proxy,) = result.by_kind("target_proxy")
    assert proxy.subject == "f" and proxy.severity == severity
    assert proxy.metrics["value"] == pytest.approx(1.0)


def test_a_tiny_sample_is_inconclusive_not_a_proxy_alarm():
    training = pl.DataFrame({"id": [1, 2, 3, 4], "pt": [T0] * 4, "y": [1, 0, 1, 0], "f": [1.0, 0.0, 1.0, 0.0]})
    result = check_leakage(training, entity="id", prediction_time="pt", target="y")
    assert result.by_kind("target_proxy") == ()
    row = result.to_polars("proxy").row(0, named=True)
    assert row["auc"] == 1.0 and row["lower"] < 0.5
    assert row["status"] == "inconclusive: fewer than 10 positives or negatives"


def test_cross_split_duplicates_count_each_groups_extra_copies_once_and_only_train_with_test():
    # groups of identical rows (entity, pt, x) with their split values; extra copies = size - 1
    groups = [
        (["train", "test"], 1),             # spans the split: its 1 extra copy crosses
        (["train", "train", "test"], 2),    # spans: 2 extra copies cross
        (["test", "test", "test"], 0),      # one side only
        (["train", "val"], 0),              # 'val' is neither side
        (["train", None], 0),               # a null split is neither side
        (["train"], 0),                     # no copy
    ]
    rows = [{"id": g, "pt": T0, "x": float(g), "split": s} for g, (sides, _) in enumerate(groups) for s in sides]
    result = check_leakage(pl.DataFrame(rows), entity="id", prediction_time="pt", split="split")
    (dup,) = [f for f in result.by_kind("duplicate_rows") if f.subject == "all columns"]
    extra = sum(len(sides) - 1 for sides, _ in groups)
    assert dup.metrics["affected_rows"] == extra == 7
    assert dup.metrics["cross_split_rows"] == sum(c for _, c in groups) == 3
    assert dup.severity == "critical"
    assert "7 rows are exact copies" in dup.message and "3 of these copies" in dup.message
    one_side = check_leakage(pl.DataFrame(rows), entity="id", prediction_time="pt", split="split",
                             train_value="val", test_value="test")
    (same,) = [f for f in one_side.by_kind("duplicate_rows") if f.subject == "all columns"]
    assert (same.metrics["cross_split_rows"], same.severity) == (0, "warning")


def test_stale_rows_are_located_in_time_and_shown_earliest_first_on_polars_and_duckdb():
    import duckdb

    # entity 1's snapshots stop after T0 - 10d; entity 2 is refreshed daily; TTL 7 days
    snaps = pl.DataFrame({"id": [1, 2, 2, 2, 2], "valid": [T0 - 10 * D, T0 - D, T0 + D, T0 + 3 * D, T0 + 5 * D],
                          "v": [7.0, 1.0, 2.0, 3.0, 4.0]})
    pts = [T0 - 5 * D, T0, T0 + 2 * D, T0 + 4 * D]  # entity 1 stale from T0 - 3d on: the last three
    training = pl.DataFrame({"id": [1] * 4 + [2, 2], "pt": [*pts, T0 + 2 * D, T0 + 6 * D],
                             "v": [7.0] * 4 + [2.0, 4.0]}).with_columns(pl.col("pt").dt.replace_time_zone("UTC"))
    snaps = snaps.with_columns(pl.col("valid").dt.replace_time_zone("UTC"))
    con = duckdb.connect()
    results = [check_leakage(t, entity="id", prediction_time="pt", sources={"s": Source(s, entity="id", time="valid")},
                             features={"v": asof("s", "v", ttl="7d")}, max_examples=2)
               for t, s in ((training, snaps), (con.from_arrow(training.to_arrow()), con.from_arrow(snaps.to_arrow())))]
    assert [r.parameters["engine"] for r in results] == ["polars", "duckdb"]
    for result in results:
        (stale,) = result.by_kind("stale_feature")
        assert stale.metrics["affected_rows"] == 3
        assert stale.scope == {"window": [pts[1].replace(tzinfo=dt.UTC).isoformat(),
                                          pts[3].replace(tzinfo=dt.UTC).isoformat()]}
        assert stale.metrics["age_seconds"]["max"] == 14 * 86400
        examples = result.to_polars("examples").filter(pl.col("kind") == "stale_feature")
        assert examples["prediction_time"].dt.replace_time_zone(None).to_list() == pts[1:3]
        assert examples["age_hours"].to_list() == [10 * 24, 12 * 24]
        assert examples["training_value"].to_list() == examples["point_in_time_value"].to_list() == ["7.0", "7.0"]
        assert len(stale.evidence) == 2 and "lag_hours" not in stale.evidence[0]
    assert results[0].to_polars("examples").drop("row").equals(results[1].to_polars("examples").drop("row"))


def test_findings_are_decided_from_summaries_and_only_the_path_choice_knows_the_engine():
    """Statistics, decisions and findings import no engine and no lazy-frame library: they read
    the summaries only; engine names appear only where the path is chosen (and in the inputs)."""
    import ast
    import re
    from pathlib import Path

    import workbench.leakage as leakage

    folder = Path(leakage.__file__).parent
    for name in ("statistics.py", "checks.py", "result.py"):
        tree = ast.parse((folder / name).read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in imported if m.startswith(("narwhals", "duckdb", "pyspark", "workbench.engine",
                                                          "workbench.leakage.per_row"))}, (name, imported)
    for path in folder.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"import (duckdb|pyspark)|from (duckdb|pyspark)", text), path.name
        compared = re.findall(r"engine\s*==|engine\s*!=", text)
        assert not compared or path.name in ("per_row.py", "inputs.py"), (path.name, compared)
