"""The monitoring sample: planted drift and schema changes are found, unchanged columns stay quiet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.drift import DriftProfile, check_drift, fit_profile, schema_history
from workbench.errors import InputError
from workbench.findings.schema import validate_findings

ROOT = Path(__file__).resolve().parents[1]
MON = ROOT / "sample_data" / "monitoring"
REF, CUR = str(MON / "reference.parquet"), str(MON / "current")
ROLES = {"timestamp": "ts", "exclude": ["request_id"], "score": "score", "target": "label"}


@pytest.fixture(scope="module")
def planted() -> dict:
    return json.loads((MON / "planted.json").read_text())


@pytest.fixture(scope="module")
def result():
    return check_drift(REF, CUR, **ROLES)


def _alerts(result) -> set[tuple[str, str]]:
    return {(f.kind, f.subject) for f in result.at_least("warning") if f.scope.get("window") is None}


def test_planted_alerts_are_found(result, planted):
    found = _alerts(result)
    for column, kind in planted["alerts"].items():
        assert (kind, column) in found, (kind, column)


def test_unchanged_columns_do_not_alert(result, planted):
    alerted = {f.subject for f in result.at_least("warning") if not f.kind.startswith("schema_")}
    assert not alerted & set(planted["quiet"]), alerted & set(planted["quiet"])


def test_graded_shifts_rank_in_order(result):
    cols = result.to_polars("columns").filter(pl.col("scope") == "all")
    w = dict(zip(cols["column"], cols["wasserstein"], strict=True))
    assert w["sessions_7d"] < 0.1 < w["basket_value"] < w["latency_ms"]
    status = dict(zip(cols["column"], cols["status"], strict=True))
    assert status["sessions_7d"] in ("stable", "small")


def test_drift_is_localised_to_the_windows_where_it_happens(result):
    cols = result.to_polars("columns").filter((pl.col("column") == "basket_value") & (pl.col("scope_kind") == "window"))
    by_day = {str(r["window_start"].date()): r["status"] for r in cols.iter_rows(named=True)}
    assert [by_day[d] for d in ("2026-03-01", "2026-03-02", "2026-03-03")] == ["stable"] * 3
    assert all(by_day[d] == "drift" for d in ("2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07"))
    country = next(f for f in result.findings if f.subject == "country" and f.kind == "new_category")
    assert set(country.metrics["also_in"]) == {"2026-03-06T00:00:00+00:00", "2026-03-07T00:00:00+00:00"}


def test_schema_evolution_across_partitions(result, planted):
    schema = result.to_polars("schema")
    renamed = schema.filter(pl.col("change") == "renamed").row(0, named=True)
    assert renamed["column"] == "discount_pct" and "discount_rate" in renamed["detail"]
    changed = schema.filter(pl.col("change") == "type_changed").row(0, named=True)
    assert (changed["column"], changed["reference_dtype"], changed["current_dtype"]) == ("n_items", "Int64", "String")
    assert changed["partition"].endswith("date=2026-03-05/part-0.parquet")
    # a type change is a schema finding, not a distribution alarm: n_items is compared as numbers
    n_items = result.to_polars("columns").filter((pl.col("column") == "n_items") & (pl.col("scope") == "all"))
    assert n_items["status"].item() == "stable"
    kinds = {f.kind for f in result.findings}
    assert {"schema_renamed", "schema_type_changed"} <= kinds
    assert "schema_added" not in kinds  # the hive key 'date' and the renamed column are not "added"


def test_schema_history_lists_each_change_at_its_partition():
    history = schema_history(CUR)
    rows = {(Path(r["partition"]).parent.name, r["column"], r["change"]) for r in history.iter_rows(named=True)}
    assert rows == {("date=2026-03-03", "discount_pct", "renamed"), ("date=2026-03-05", "n_items", "type_changed")}


def test_prediction_and_label_roles(result):
    kinds = {f.kind: f for f in result.findings}
    assert "prediction_drift" in kinds and kinds["prediction_drift"].subject == "score"
    cols = result.to_polars("columns").filter(pl.col("column") == "label")
    assert cols["kind"].unique().to_list() == ["categorical"]  # class shares, not a numeric distribution


def test_findings_json_validates_and_is_stable(result):
    doc = json.loads(result.to_json())
    validate_findings(doc)
    again = check_drift(REF, CUR, **ROLES)
    assert [f.id for f in again.findings] == [f.id for f in result.findings]
    assert [f.message for f in again.findings] == [f.message for f in result.findings]


def test_saved_profile_gives_the_same_result_without_the_reference(tmp_path, result):
    profile = fit_profile(REF, exclude=["request_id", "ts"], categorical=["label"])
    path = profile.save(tmp_path / "ref.profile.json")
    assert path.stat().st_size < 100_000
    loaded = DriftProfile.load(path)
    assert loaded == profile
    reused = check_drift(loaded, CUR, **ROLES)
    assert_frame_equal(reused.to_polars("columns"), result.to_polars("columns"))
    assert [f.id for f in reused.findings] == [f.id for f in result.findings]
    assert reused.inputs[0].fingerprint == result.inputs[0].fingerprint


@pytest.mark.slow
def test_duckdb_engine_gives_identical_results():
    rng = np.random.default_rng(2)
    n = 30_000
    ref = pl.read_parquet(REF).drop("request_id")
    ref = ref.with_columns(segment=pl.Series(rng.choice(["a", "b"], ref.height)))
    cur = pl.read_parquet(MON / "current" / "date=2026-03-04" / "part-0.parquet").drop("request_id")
    cur = cur.with_columns(segment=pl.Series(rng.choice(["a", "b"], cur.height)))
    assert n > cur.height
    kwargs = {"timestamp": "ts", "window": "6h", "by": "segment", "score": "score", "target": "label"}
    on_polars = check_drift(ref, cur, **kwargs)
    con = duckdb.connect()
    con.register("ref_t", ref.to_arrow())
    con.register("cur_t", cur.to_arrow())
    on_duckdb = check_drift(con.table("ref_t"), con.table("cur_t"), **kwargs)
    assert on_duckdb.parameters["engine"] == "duckdb" and on_polars.parameters["engine"] == "polars"
    for table in ("columns", "bins", "tests", "categories", "schema"):
        assert_frame_equal(on_polars.to_polars(table), on_duckdb.to_polars(table), rel_tol=1e-9, abs_tol=1e-12)
    assert [(f.id, f.severity, f.message) for f in on_polars.findings] == \
        [(f.id, f.severity, f.message) for f in on_duckdb.findings]


@pytest.mark.slow
def test_cli_drift_writes_findings_and_reuses_a_profile(tmp_path):
    profile = tmp_path / "ref.profile.json"
    out = tmp_path / "findings.json"
    base = [sys.executable, "-m", "workbench.cli", "drift", "--timestamp", "ts", "--exclude", "request_id",
            "--score", "score", "--target", "label"]
    fit = subprocess.run([*base, "--reference", REF, "--save-profile", str(profile)], capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr
    run = subprocess.run([*base, "--reference", str(profile), "--current", CUR, "--out", str(out),
                          "--report", str(tmp_path / "r.html")], capture_output=True, text=True)
    assert run.returncode == 1 and "FAIL" in run.stdout
    doc = json.loads(out.read_text())
    validate_findings(doc)
    assert {"latency_ms", "basket_value"} <= {f["subject"] for f in doc["findings"]}
    quiet = subprocess.run([*base, "--reference", str(profile), "--current", CUR, "--fail-on", "none", "--quiet"],
                           capture_output=True, text=True)
    assert quiet.returncode == 0
    bad = subprocess.run([*base, "--reference", REF, "--current", CUR, "--by", "regoin"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "by=['regoin'] not found in the reference" in bad.stderr


@pytest.mark.slow
def test_every_input_type_gives_the_same_findings(tmp_path):
    ref = pl.read_parquet(REF).drop("request_id")
    cur = pl.read_parquet(MON / "current" / "date=2026-03-04" / "part-0.parquet").drop("request_id")
    ref.write_csv(tmp_path / "ref.csv")
    cur.write_csv(tmp_path / "cur.csv")

    def found(result):
        return [(f.kind, f.subject, f.severity) for f in result.findings]

    expected = found(check_drift(ref, cur))
    con = duckdb.connect()
    con.register("ref_t", ref.to_arrow())
    con.register("cur_t", cur.to_arrow())
    for reference, current in [(ref.lazy(), cur.lazy()), (ref.to_pandas(), cur.to_pandas()),
                               (ref.to_arrow(), cur.to_arrow()), (str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv")),
                               (con.table("ref_t"), con.table("cur_t"))]:
        assert found(check_drift(reference, current)) == expected, type(reference)


def test_segments_are_compared_with_the_same_segment_of_the_reference(tmp_path):
    rng = np.random.default_rng(22)
    n = 30_000

    def sample():
        seg = rng.choice(["eu", "us"], n)
        x = np.where(seg == "eu", rng.normal(5, 1, n), rng.normal(0, 1, n))  # segments differ, and always have
        c = np.where(seg == "eu", rng.choice(["p", "q"], n, p=[0.9, 0.1]), rng.choice(["p", "q"], n, p=[0.1, 0.9]))
        return pl.DataFrame({"x": x, "c": c, "seg": seg})

    ref, cur = sample(), sample()
    result = check_drift(ref, cur, by="seg")
    assert not result.at_least("warning"), [f.message for f in result.at_least("warning")]
    cols = result.to_polars("columns")
    eu = cols.filter((pl.col("column") == "x") & (pl.col("scope") == "seg=eu")).row(0, named=True)
    assert eu["n_reference"] == ref.filter(pl.col("seg") == "eu").height
    assert eu["wasserstein"] < 0.05
    # a saved profile keeps the segments' counts; one fitted without them is refused for by=
    path = fit_profile(ref, by=["seg"]).save(tmp_path / "seg.profile.json")
    again = check_drift(DriftProfile.load(path), cur, by="seg")
    assert_frame_equal(again.to_polars("columns"), result.to_polars("columns"))
    with pytest.raises(InputError, match=r"no segment counts for by=\['seg'\]"):
        check_drift(fit_profile(ref), cur, by="seg")


def test_drift_in_one_segment_is_reported_for_that_segment():
    rng = np.random.default_rng(21)
    n = 40_000
    ref = pl.DataFrame({"x": rng.normal(0, 1, n), "seg": rng.choice(["a", "b", "c"], n, p=[0.1, 0.45, 0.45])})
    cur = pl.DataFrame({"x": rng.normal(0, 1, n), "seg": rng.choice(["a", "b", "c"], n, p=[0.1, 0.45, 0.45])})
    cur = cur.with_columns(x=pl.when(pl.col("seg") == "a").then(pl.col("x") + 1.0).otherwise(pl.col("x")))
    result = check_drift(ref, cur, by="seg")
    alerts = [f for f in result.at_least("warning") if f.kind == "distribution_drift"]
    assert [(f.subject, f.scope) for f in alerts] == [("x", {"segment": {"seg": "a"}})]
    overall = result.to_polars("columns").filter((pl.col("column") == "x") & (pl.col("scope") == "all"))
    assert overall["status"].item() != "drift"  # a tenth of the traffic moved: small overall, clear in its segment


def test_every_interval_contains_its_estimate(result):
    cols = result.to_polars("columns").filter(pl.col("status") != "insufficient")
    for measure in ("psi", "jensen_shannon", "total_variation", "ks", "wasserstein"):
        rows = cols.filter(pl.col(measure).is_not_null())
        inside = (rows[f"{measure}_low"] <= rows[measure] + 1e-12) & (rows[measure] <= rows[f"{measure}_high"] + 1e-12)
        assert inside.all(), (measure, rows.filter(~inside).select("column", "scope", measure))
