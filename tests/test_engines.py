"""The summaries stage on polars, duckdb and Spark: the same data gives identical findings and
numbers on every engine; engine-specific bad input is refused by name."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.drift import check_drift, fit_profile
from workbench.errors import InputError

pytestmark = pytest.mark.slow  # Spark and duckdb beside polars: the fast loop (-m "not slow") skips them
TABLES = ("columns", "bins", "tests", "categories", "schema")


def _frame(seed: int, n: int, shift: float = 0.0) -> pl.DataFrame:
    """Every dtype the summaries read: ints, floats with NaN/inf/nulls, numeric strings, strings,
    booleans, dates, aware and naive datetimes, a segment and an hourly timestamp."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.01] = np.nan
    x[:2] = [np.inf, -np.inf]
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    return pl.DataFrame({
        "ts": [start + dt.timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 2880, n))],
        "x": x,
        "k": rng.poisson(3 + shift, n),
        "amount_text": [f" {v:.2f}" if v > -2 else "n/a" for v in rng.normal(10 + shift, 2, n)],
        "country": rng.choice(["de", "fr", "es", "it"], n, p=[0.4, 0.3, 0.2, 0.1] if not shift else
                              [0.25, 0.25, 0.25, 0.25]),
        "flag": rng.random(n) < 0.3 + 0.1 * shift,
        "signup": [dt.date(2025, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 400, n)],
        "seen": [dt.datetime(2026, 1, 1) + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 10**7, n)],
        "segment": rng.choice(["a", "b"], n),
    }).with_columns(pl.when(pl.int_range(pl.len()) % 50 == 7).then(None).otherwise(pl.col("k")).alias("k"))


@pytest.fixture(scope="module")
def frames():
    return _frame(1, 6000), _frame(2, 3000, shift=0.3)


def _same(a, b):
    for table in TABLES:
        assert_frame_equal(a.to_polars(table), b.to_polars(table), rel_tol=1e-9, abs_tol=1e-12)
    assert [(f.id, f.severity, f.message) for f in a.findings] == [(f.id, f.severity, f.message) for f in b.findings]


def _profile_comparable(profile) -> dict:
    """A fitted drift profile's JSON less its creation time and the reference's fingerprint (each engine
    hashes its own encoding of the rows)."""
    return {k: v for k, v in profile.to_dict().items() if k not in ("created_at", "fingerprint")}


def _on_every_engine(spark, *frames):
    """The frames as polars frames, as duckdb relations and as Spark DataFrames."""
    con = duckdb.connect()
    for i, frame in enumerate(frames):
        con.register(f"t{i}", frame.to_arrow())
    return [frames, tuple(con.table(f"t{i}") for i in range(len(frames))),
            tuple(spark.createDataFrame(frame.to_arrow()) for frame in frames)]


def test_drift_is_identical_on_polars_duckdb_and_spark(frames, spark):
    ref, cur = frames
    kwargs = {"timestamp": "ts", "window": "6h", "by": "segment"}
    on_polars = check_drift(ref, cur, **kwargs)
    assert on_polars.findings  # the shifted current drifts: there is something to agree on
    con = duckdb.connect()
    con.register("ref_t", ref.to_arrow())
    con.register("cur_t", cur.to_arrow())
    on_duckdb = check_drift(con.table("ref_t"), con.table("cur_t"), **kwargs)
    on_spark = check_drift(spark.createDataFrame(ref.to_arrow()), spark.createDataFrame(cur.to_arrow()), **kwargs)
    assert [r.parameters["engine"] for r in (on_polars, on_duckdb, on_spark)] == ["polars", "duckdb", "spark"]
    assert on_spark.parameters["sampled"] is False
    _same(on_polars, on_duckdb)
    _same(on_polars, on_spark)
    _same_full_result(on_polars, on_duckdb)
    _same_full_result(on_polars, on_spark)
    assert [i.rows for i in on_spark.inputs] == [6000, 3000]


def _roles_frame(seed: int, n: int, shift: float = 0.0) -> pl.DataFrame:
    """A model's log: naive hourly times, a score and an integer label (roles), a region segment with
    nulls, an Int32 and a float with a rename, text and boolean columns with nulls, a column only the
    reference has."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 3, 1)
    plans = ["free", "basic", "pro", "team", "edu"] + (["enterprise"] if shift else [])
    return pl.DataFrame({
        "event_time": [start + dt.timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 24 * 60, n))],
        "score": np.clip(rng.beta(2, 5, n) + shift / 3, 0, 1),
        "label": (rng.random(n) < 0.2 + shift / 2).astype(np.int64),
        "region": rng.choice(["eu", "us", "apac", None], n, p=[0.5, 0.3, 0.15, 0.05]),
        "age": rng.integers(18, 80, n).astype(np.int32),
        "amount": np.round(rng.gamma(2, 20 + 20 * shift, n), 2),
        "plan": rng.choice(plans, n),
        "active": pl.Series(rng.random(n) < 0.7 - shift / 3).scatter(np.arange(0, n, 40), None),
        ("tenure_months" if shift else "tenure"): rng.poisson(12, n).astype(np.float64),
        **({} if shift else {"legacy_flag": rng.random(n) < 0.5}),
    })


def test_drift_results_are_identical_on_every_engine_with_roles_type_changes_and_renames(spark):
    """Everything drift reports, not only its findings' sentences: a prediction and a label, hourly
    windows, a segment with nulls, a numeric column that arrives as text (parsed leniently, with
    unparseable values), a renamed column, a dropped one and a new category."""
    reference = _roles_frame(3, 5000)
    current = _roles_frame(4, 2500, shift=0.4).with_columns(
        amount=pl.when(pl.int_range(pl.len()) % 25 == 3).then(pl.lit("n/a"))
        .otherwise(pl.lit(" ") + pl.col("amount").cast(pl.String)))
    kwargs = {"timestamp": "event_time", "window": "1h", "by": "region", "score": "score", "target": "label"}
    inputs = _on_every_engine(spark, reference, current)
    on_polars, on_duckdb, on_spark = (check_drift(ref, cur, **kwargs) for ref, cur in inputs)
    assert [r.parameters["engine"] for r in (on_polars, on_duckdb, on_spark)] == ["polars", "duckdb", "spark"]
    kinds = {f.kind for f in on_polars.findings}
    assert {"prediction_drift", "label_drift", "new_category", "schema_renamed", "schema_dropped",
            "schema_type_changed"} <= kinds, kinds
    amount = on_polars.to_polars("columns").filter(pl.col("column") == "amount", pl.col("scope") == "all")
    assert amount["missing_current"].item() == 100 / 2500  # every 25th row reads "n/a"
    _same_full_result(on_polars, on_duckdb)
    _same_full_result(on_polars, on_spark)
    # a profile fitted on each engine (segment counts included), then current compared with it alone
    profiles = [fit_profile(ref, by=["region"], categorical=["label"], exclude=["event_time"]) for ref, _ in inputs]
    for profile in profiles[1:]:
        assert _close(_profile_comparable(profiles[0]), _profile_comparable(profile))
    monitored = [check_drift(profile, cur, **kwargs) for profile, (_, cur) in zip(profiles, inputs, strict=True)]
    for result in monitored[1:]:
        _same_full_result(monitored[0], result)


@pytest.mark.parametrize("ranked_on", ["driver", "cluster"])
def test_bin_edges_from_every_kth_row_are_the_same_on_one_spark_partition(frames, spark, ranked_on, monkeypatch):
    from workbench.drift import summaries

    if ranked_on == "cluster":  # an edge sample too large to bring back: Spark's percentile_disc ranks it
        monkeypatch.setattr(summaries, "EDGE_SAMPLE_ROWS", 0)
    ref, _ = frames
    on_polars = fit_profile(ref, exclude=["ts"], edge_rows=1000)
    on_spark = fit_profile(spark.createDataFrame(ref.to_arrow()).coalesce(1), exclude=["ts"], edge_rows=1000)
    assert on_polars.edge_rows == on_spark.edge_rows == 1000
    for name, column in on_polars.columns.items():
        assert on_spark[name].edges == column.edges, name
        assert on_spark[name].counts == column.counts, name  # counts always use every row


def test_a_spark_frame_with_nested_columns_is_refused_by_name_unless_excluded(frames, spark):
    from pyspark.sql import functions as F

    ref, cur = frames
    nested = spark.createDataFrame(cur.to_arrow()).withColumn("attrs", F.create_map(F.lit("k"), F.col("k"))) \
        .withColumn("point", F.struct(F.col("x"), F.col("k")))
    with pytest.raises(InputError, match=r"current: drift cannot read Spark column\(s\) .attrs. \(map<string,"):
        check_drift(ref.with_columns(attrs=pl.lit("x")), nested, exclude=["point"])
    ref_nested = spark.createDataFrame(ref.to_arrow()).withColumn("point", F.struct(F.col("x")))
    with pytest.raises(InputError, match=r"reference: drift cannot read Spark column\(s\) 'point' \(struct<x:double>\)"
                                         r".*exclude=\['point'\]"):
        check_drift(ref_nested, cur)
    assert check_drift(ref_nested, nested, exclude=["point", "attrs"]).parameters["engine"] == "spark"


def test_a_spark_source_that_fails_lazily_names_the_missing_file(frames, spark, tmp_path):
    ref, cur = frames
    for day in range(2):
        (tmp_path / f"day={day}").mkdir()
        cur.write_parquet(tmp_path / f"day={day}" / "part-0.parquet")
    lazy = spark.read.parquet(str(tmp_path))
    shutil.rmtree(tmp_path / "day=1")
    with pytest.raises(InputError, match=r"current: drift could not compute its summaries on Spark: .*day=1"):
        check_drift(ref, lazy)


# -- performance: subgroups, calibration, estimates ----------------------------------------------
PERF = "sample_data/performance"


@pytest.fixture(scope="module")
def labelled_log():
    """The performance sample with the labels known at its as-of time joined in (null: not yet)."""
    import json
    from pathlib import Path

    as_of = dt.datetime.fromisoformat(json.loads(Path(f"{PERF}/planted.json").read_text())["as_of"])
    labels = pl.read_parquet(f"{PERF}/labels.parquet").filter(pl.col("label_time") <= as_of)
    return pl.read_parquet(f"{PERF}/predictions.parquet").join(labels.drop("label_time"), on="request_id",
                                                                how="left")


def _engines(frame: pl.DataFrame, spark):
    con = duckdb.connect()
    con.register("t", frame.to_arrow())
    return {"polars": frame, "duckdb": con.table("t"), "spark": spark.createDataFrame(frame.to_arrow())}


def _same_result(a, b, tables):
    for table in tables:
        left, right = a.to_polars(table), b.to_polars(table)
        assert_frame_equal(left, right, rel_tol=1e-9, abs_tol=1e-9, check_dtypes=False), table
    assert [(f.id, f.severity, f.message) for f in a.findings] == [(f.id, f.severity, f.message) for f in b.findings]


def _comparable(result) -> dict:
    """The result's JSON less what belongs to the run or the engine: the creation time, the engine's
    name and the inputs' fingerprints (each engine hashes its own encoding of the rows)."""
    out = result.to_dict()
    del out["created_at"]
    out["parameters"] = {k: v for k, v in out["parameters"].items() if k != "engine"}
    if "profile" in out["parameters"]:  # drift: its reference profile's creation time and fingerprint
        out["parameters"]["profile"] = {k: v for k, v in out["parameters"]["profile"].items()
                                        if k not in ("created_at", "fingerprint")}
    out["inputs"] = [{k: v for k, v in i.items() if k != "fingerprint"} for i in out["inputs"]]
    return out


def _same_full_result(a, b):
    """The whole result agrees: its JSON (verdict, parameters, inputs' rows and columns, every
    finding with all its metrics; numbers to floating-point tolerance) and every table, dtypes
    included, with the findings table."""
    x, y = _comparable(a), _comparable(b)
    assert x.keys() == y.keys()
    for key in x:
        assert _close(x[key], y[key]), key
    assert list(a.tables) == list(b.tables)
    for table in a.tables:
        assert_frame_equal(a.to_polars(table), b.to_polars(table), rel_tol=1e-9, abs_tol=1e-9), table
    assert_frame_equal(a.to_polars(), b.to_polars())


def test_performance_is_identical_on_polars_duckdb_and_spark(labelled_log, spark):
    from workbench.performance import check_performance

    reference = pl.read_parquet(f"{PERF}/reference.parquet")
    kwargs = {"target": "label", "prediction": "prediction", "score": "score", "by": ["region", "device"],
              "timestamp": "ts", "window": "1h"}
    results = {engine: check_performance(data, reference=reference, **kwargs)
               for engine, data in _engines(labelled_log, spark).items()}
    base = results["polars"]
    assert base.by_kind("performance_drop") and base.by_kind("overconfident")  # the planted problems
    for engine in ("duckdb", "spark"):
        assert results[engine].parameters["engine"] == engine
        _same_result(base, results[engine], ("segments", "slices", "windows", "estimates", "calibration"))
        _same_full_result(base, results[engine])


def test_calibration_runs_each_side_on_its_own_engine(labelled_log, spark):
    from workbench.performance import check_calibration

    current = labelled_log.filter(pl.col("label").is_not_null())
    reference = pl.read_parquet(f"{PERF}/reference.parquet")
    base = check_calibration(reference, current, score="score", target="label", timestamp="ts", by="region")
    mixed = check_calibration(_engines(reference, spark)["duckdb"], spark.createDataFrame(current.to_arrow()),
                              score="score", target="label", timestamp="ts", by="region")
    assert mixed.parameters["engine"] == "spark"
    _same_result(base, mixed, ("calibration", "reliability", "recalibration"))


def test_late_labels_are_joined_on_the_predictions_engine(spark):
    import json
    from pathlib import Path

    from workbench.performance import check_performance

    as_of = dt.datetime.fromisoformat(json.loads(Path(f"{PERF}/planted.json").read_text())["as_of"])
    predictions = pl.read_parquet(f"{PERF}/predictions.parquet")
    labels = pl.read_parquet(f"{PERF}/labels.parquet")
    kwargs = {"id": "request_id", "label_time": "label_time", "as_of": as_of, "prediction": "prediction",
              "score": "score", "by": "region", "timestamp": "ts", "window": "6h"}
    base = check_performance(predictions, labels=labels, **kwargs)
    con = duckdb.connect()
    con.register("p", predictions.to_arrow())
    con.register("l", labels.to_arrow())
    pairs = {"duckdb": (con.table("p"), con.table("l")),
             "spark": (spark.createDataFrame(predictions.to_arrow()), spark.createDataFrame(labels.to_arrow()))}
    for engine, (p, lab) in pairs.items():
        result = check_performance(p, labels=lab, **kwargs)
        assert result.parameters["engine"] == engine
        assert result.parameters["labels"] == base.parameters["labels"]  # given, matched, pending, labelled
        _same_result(base, result, ("segments", "windows", "estimates"))
        _same_full_result(base, result)
    with pytest.raises(InputError, match=r"labels are on polars but the predictions on spark"):
        check_performance(pairs["spark"][0], labels=labels, **kwargs)


def _leakage_inputs(to_engine):
    """The churn audit's keyword arguments with the training set and every source on one engine."""
    from pathlib import Path

    from workbench.leakage.config import load_audit_config

    kwargs = load_audit_config(Path("sample_data/churn/audit.yaml"))

    def move(data):
        return to_engine(pl.read_parquet(data) if isinstance(data, str) else data)

    kwargs["training"] = move(kwargs["training"])
    kwargs["sources"] = {k: dataclasses.replace(s, data=move(s.data)) for k, s in kwargs["sources"].items()}
    return kwargs


def _same_audit(base, result):
    """The whole result alike, numbers to floating-point tolerance: ``to_dict()`` (findings,
    parameters, each input's name, rows and columns) but what belongs to the run or the engine
    (when it ran, the engine, the inputs' fingerprints: each engine hashes its own types), the
    findings frame and every table, but the training row number of the examples, which only
    polars has (rows have no order on duckdb and Spark)."""
    left, right = _comparable(base), _comparable(result)
    assert left.keys() == right.keys() and len(left["findings"]) == len(right["findings"])
    for key in left:
        assert _close(left[key], right[key]), (key, left[key], right[key])
    assert_frame_equal(base.to_polars(), result.to_polars(), rel_tol=1e-9, abs_tol=1e-9)
    assert base.tables.keys() == result.tables.keys()
    for table in base.tables:
        left, right = base.to_polars(table), result.to_polars(table)
        if table == "examples":
            assert left["row"].null_count() == 0 and right["row"].null_count() == right.height
            left, right = left.drop("row"), right.drop("row")
        assert_frame_equal(left, right, rel_tol=1e-9, abs_tol=1e-9, check_dtypes=False)


def _close(x, y) -> bool:
    """Equal, numbers to floating-point tolerance (NaN equals NaN), in nested dicts and lists."""
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple) and isinstance(y, list | tuple):
        return len(x) == len(y) and all(_close(p, q) for p, q in zip(x, y, strict=True))
    if isinstance(x, float) and isinstance(y, float):
        return x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True)
    return x == y


def test_the_leakage_audit_is_identical_on_polars_duckdb_and_spark(spark):
    from workbench.leakage import check_leakage

    base = check_leakage(**_leakage_inputs(lambda df: df))
    kinds = {f.kind for f in base.findings}
    assert {"future_data", "non_asof_join", "late_arrival", "stale_feature", "late_data_profile", "target_proxy",
            "split_entity_overlap", "duplicate_rows"} <= kinds
    con = duckdb.connect()
    on_duckdb = check_leakage(**_leakage_inputs(lambda df: con.from_arrow(df.to_arrow())))
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    on_spark = check_leakage(**_leakage_inputs(lambda df: spark.createDataFrame(df.to_arrow())))
    assert (base.parameters["engine"], on_duckdb.parameters["engine"], on_spark.parameters["engine"]) == \
        ("polars", "duckdb", "spark")
    assert on_spark.parameters["sampled"] is False
    _same_audit(base, on_duckdb)
    _same_audit(base, on_spark)
    assert not con.sql("SELECT * FROM duckdb_tables() WHERE temporary").fetchall()  # its tables are dropped
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached  # and its checkpoints freed


def test_leakage_inputs_on_different_engines_nested_or_missing_are_refused_by_name(spark, tmp_path):
    from pyspark.sql import functions as F

    from workbench.leakage import check_leakage

    kwargs = _leakage_inputs(lambda df: df)
    training = spark.createDataFrame(kwargs.pop("training").to_arrow())
    with pytest.raises(InputError, match=r"source 'transactions' is on polars but training is on spark: give every"):
        check_leakage(training, **kwargs)
    nested = training.withColumn("plan", F.struct(F.col("plan").alias("name")))
    with pytest.raises(InputError, match=r"training: the leakage audit cannot read Spark column\(s\) 'plan' "
                                         r"\(struct<name:string>\)"):
        check_leakage(nested, **kwargs)
    for day in range(2):
        (tmp_path / f"day={day}").mkdir()
        pl.read_parquet("sample_data/churn/training.parquet").write_parquet(tmp_path / f"day={day}" / "p.parquet")
    on_disk = spark.read.parquet(str(tmp_path))
    shutil.rmtree(tmp_path / "day=1")
    spark_sources = {k: dataclasses.replace(s, data=spark.createDataFrame(s.data.to_arrow()))
                     for k, s in _leakage_inputs(lambda df: df)["sources"].items()}
    with pytest.raises(InputError, match=r"training: the leakage audit could not compute its summaries on spark: "
                                         r".*day=1"):
        check_leakage(on_disk, **{**kwargs, "sources": spark_sources})


def test_check_skew_is_identical_on_every_engine(spark):
    from workbench.drift import check_skew

    training = pl.read_parquet("sample_data/monitoring/training_features.parquet")
    serving = pl.read_parquet("sample_data/monitoring/current/date=2026-03-0[12]/*.parquet")
    base = check_skew(training, serving, id="request_id")
    assert base.findings
    con = duckdb.connect()
    con.register("tr", training.to_arrow())
    con.register("sv", serving.to_arrow())
    on_spark = (spark.createDataFrame(training.to_arrow()), spark.createDataFrame(serving.to_arrow()))
    for engine, pair in (("duckdb", (con.table("tr"), con.table("sv"))), ("spark", on_spark)):
        result = check_skew(*pair, id="request_id")
        assert result.parameters["engine"] == engine and result.parameters["coverage"] == base.parameters["coverage"]
        _same_result(base, result, ("features",))
        assert [f.evidence for f in result.findings] == [f.evidence for f in base.findings]
    with pytest.raises(InputError, match=r"training is on polars but serving on spark"):
        check_skew(training, spark.createDataFrame(serving.to_arrow()), id="request_id")


SHADOW = "sample_data/shadow"


def _shadow_tables(result) -> list[str]:
    return [t for t in result.tables if t != "guardrails"] + ["guardrails"]


def test_shadow_comparison_is_identical_on_every_engine(spark):
    """The shadow sample (retries, one-sided requests, late labels, a planted latency, error and
    accuracy regression): reconciliation, every table, finding and the verdict agree."""
    from workbench.shadow import check_shadow

    frames = {n: pl.read_parquet(f"{SHADOW}/{n}.parquet") for n in ("production", "candidate", "labels")}
    kwargs = {"id": "request_id", "timestamp": "ts", "prediction": "prediction", "score": "score",
              "latency": "latency_ms", "error": "error", "by": ["region", "device"], "label_time": "label_time",
              "as_of": dt.datetime(2026, 3, 3, tzinfo=dt.UTC), "stages": (0.01, 0.05, 0.25, 1), "stage": 0.05}
    base = check_shadow(frames["production"], frames["candidate"], labels=frames["labels"], **kwargs)
    assert base.verdict.decision == "rollback" and base.parameters["coverage"]["production_duplicates"]
    con = duckdb.connect()
    for n, f in frames.items():
        con.register(n, f.to_arrow())
    engines = {"duckdb": [con.table(n) for n in frames],
               "spark": [spark.createDataFrame(f.to_arrow()) for f in frames.values()]}
    for engine, (prod, cand, labels) in engines.items():
        result = check_shadow(prod, cand, labels=labels, **kwargs)
        assert result.parameters == base.parameters | {"engine": engine}
        assert result.verdict.decision == base.verdict.decision and result.verdict.reasons == base.verdict.reasons
        _same_result(base, result, _shadow_tables(base))
        assert [i.rows for i in result.inputs] == [i.rows for i in base.inputs]
        _same_full_result(base, result)
    # what the comparison kept on the engine is gone: nothing is left in the user's connection or cache
    assert con.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
    assert not spark.sparkContext._jsc.getPersistentRDDs().size()
    with pytest.raises(InputError, match=r"labels are on polars but the logs on spark"):
        check_shadow(*engines["spark"][:2], labels=frames["labels"], **kwargs)
    with pytest.raises(InputError, match=r"production log is on polars but the candidate log on duckdb"):
        check_shadow(frames["production"], engines["duckdb"][1], id="request_id")


def _regression_logs(seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Two logs of a regression model with retries that tie on time and error (the value rule
    decides), null and NaN latencies, null ids, heavy latency ties, and labels."""
    rng = np.random.default_rng(seed)
    n = 4000
    ids = [f"r{i}" for i in rng.integers(0, 3600, n)]
    start = dt.datetime(2026, 3, 1)
    ts = [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 30, n)]

    def log(shift: float) -> pl.DataFrame:
        latency = np.round(rng.gamma(2, 20 + shift, n))  # whole milliseconds: many ties
        latency[rng.random(n) < 0.01] = np.nan
        every = pl.int_range(pl.len())
        return pl.DataFrame({"rid": ids, "ts": ts, "yhat": rng.normal(10 + shift, 3, n), "ms": latency,
                             "err": rng.random(n) < 0.02 + shift / 100, "plan": rng.choice(["a", "b", None], n)}
                            ).with_columns(pl.when(every % 97 == 3).then(None).otherwise(pl.col("ms")).alias("ms"),
                                           pl.when(every % 211 == 5).then(None).otherwise(pl.col("rid")).alias("rid"))

    labels = pl.DataFrame({"rid": [f"r{i}" for i in range(3600)], "y": rng.normal(10, 3, 3600)})
    return log(0.0), log(2.0), labels


@pytest.mark.parametrize("mode", ["shadow", "canary"])
def test_a_regression_comparison_is_identical_on_every_engine(spark, mode):
    from workbench.shadow import check_shadow

    prod, cand, labels = _regression_logs(5)
    kwargs = {"id": "rid", "timestamp": "ts", "prediction": "yhat", "latency": "ms", "error": "err", "by": "plan",
              "label": "y", "mode": mode}
    base = check_shadow(prod, cand, labels=labels, **kwargs)
    assert base.parameters["task"] == "regression" and base.parameters["coverage"]["production_duplicates"] > 300
    con = duckdb.connect()
    for n, f in (("p", prod), ("c", cand), ("l", labels)):
        con.register(n, f.to_arrow())
    engines = {"duckdb": (con.table("p"), con.table("c"), con.table("l")),
               "spark": tuple(spark.createDataFrame(f.to_arrow()) for f in (prod, cand, labels))}
    for engine, (p, c, lab) in engines.items():
        result = check_shadow(p, c, labels=lab, **kwargs)
        change = result.parameters["large_change"]  # a tenth of production's prediction sd: summed in any order
        assert change == pytest.approx(base.parameters["large_change"], rel=1e-12)
        assert result.parameters == base.parameters | {"engine": engine, "large_change": change}
        assert result.verdict.decision == base.verdict.decision
        _same_result(base, result, _shadow_tables(base))
        _same_full_result(base, result)


def test_exact_order_statistics_on_every_engine(spark, monkeypatch):
    """Ranks of a column with ties, NaN and nulls, against numpy's sort; Spark's binned ranking
    with many bins, with few (bins of one repeated value) and on one partition."""
    import narwhals as nw

    from workbench.engine import ranks

    rng = np.random.default_rng(3)
    values = np.round(rng.lognormal(3, 1, 5000), 1)
    values[rng.random(5000) < 0.3] = 7.0  # one value repeated 1,500 times
    values[:25] = np.nan
    frame = pl.DataFrame({"v": values}).with_columns(
        pl.when(pl.int_range(pl.len()) % 100 == 50).then(None).otherwise(pl.col("v")).alias("v"))
    valid = frame["v"].drop_nulls().to_numpy()
    expected_sorted = np.sort(valid)  # NaN last, as on every engine
    wanted = sorted({1, len(valid), *rng.integers(1, len(valid) + 1, 300).tolist()})
    expected = expected_sorted[np.array(wanted) - 1]
    for engine, data in _engines(frame, spark).items():
        lf = nw.from_native(data.lazy() if engine == "polars" else data)
        got = ranks.order_statistics(lf, engine, "v", wanted, name="t", check="c")
        np.testing.assert_array_equal(got, expected, err_msg=engine)
    # polars' lower quantiles (NaN left out): brought to polars, or ranked where the data is
    probs = [0.0, 0.1, 0.25, 0.5, 0.9, 0.999, 1.0]
    numbers = expected_sorted[~np.isnan(expected_sorted)]
    lower = [float(numbers[int(np.floor(p * (len(numbers) - 1)))]) for p in probs]
    for engine, data in _engines(frame, spark).items():
        lf = nw.from_native(data.lazy() if engine == "polars" else data)
        for local_rows in (0, 10_000):
            got = ranks.lower_quantiles(lf, engine, ["v"], probs, name="t", check="c", local_rows=local_rows)
            assert got["v"].to_list() == [lower], (engine, local_rows)
    monkeypatch.setattr(ranks, "SPARK_BINS", 4)
    got = ranks.order_statistics(nw.from_native(spark.createDataFrame(frame.to_arrow()).coalesce(1)), "spark", "v",
                                 wanted, name="t", check="c")
    np.testing.assert_array_equal(got, expected)


def test_one_row_per_key_is_the_same_on_every_engine(spark):
    """engine.keys.first_per_key against a brute-force reference, on rows in any order and already
    sorted by key: the latest time first, then no error before an error, then the smallest value,
    nulls last in every direction; rows without a key and the extra rows of a key counted."""
    from workbench.engine.frames import collect, open_frame
    from workbench.engine.keys import OrderKey, first_per_key

    rng = np.random.default_rng(11)
    n = 3000
    every = pl.int_range(pl.len())
    frame = pl.DataFrame({"k": rng.integers(0, 800, n), "t": rng.integers(0, 5, n), "err": rng.random(n) < 0.3,
                          "v": rng.integers(0, 4, n).astype(float)}).with_columns(
        *(pl.when(every % m == 0).then(None).otherwise(pl.col(c)).alias(c)
          for c, m in (("k", 53), ("t", 17), ("err", 29), ("v", 23))))
    order = [OrderKey("t", descending=True), OrderKey("err", as_int=True), OrderKey("v")]

    def rank(r: dict) -> tuple:
        t, e, v = r["t"], r["err"], r["v"]
        return (t is None, -(t or 0), e is None, int(e or 0), v is None, v or 0.0)

    first: dict = {}
    for r in sorted(frame.drop_nulls("k").to_dicts(), key=rank):
        first.setdefault(r["k"], r)
    expected = pl.DataFrame(list(first.values())).sort("k")
    null_keys = frame["k"].null_count()
    assert expected.height < n - null_keys  # there are repeated keys to resolve
    for engine, data in {**_engines(frame, spark), "polars, sorted": frame.sort("k", nulls_last=True)}.items():
        source = open_frame(data, name="log")
        kept, counts = first_per_key(source, "k", order, check="the test")
        got = collect(kept, source, check="the test", counts=False).sort("k")
        assert_frame_equal(got.select(expected.columns), expected, check_dtypes=False), engine
        assert (counts.rows, counts.null_keys, counts.duplicates) == \
            (n, null_keys, n - null_keys - expected.height), engine


def test_bad_shadow_logs_on_spark_are_refused_by_column(spark):
    from pyspark.sql import functions as F

    from workbench.shadow import check_shadow

    prod, cand, _ = _regression_logs(6)
    sp, sc = (spark.createDataFrame(f.to_arrow()) for f in (prod, cand))
    nested = sp.withColumn("ctx", F.struct(F.col("plan").alias("plan")))
    with pytest.raises(InputError, match=r"production: the shadow/canary comparison cannot read Spark column\(s\) "
                                         r"'ctx' \(struct<plan:string>\): .* Flatten them first"):
        check_shadow(nested, sc.withColumn("ctx", F.lit(None)), id="rid", by="ctx")
    negative = sc.withColumn("ms", F.col("ms") - 1000)
    with pytest.raises(InputError, match=r"candidate log: [\d,]+ rows have a negative 'ms'"):
        check_shadow(sp, negative, id="rid", latency="ms")
    with pytest.raises(InputError, match=r"request id 'rid' is String in the production log but Int64"):
        check_shadow(sp, sc.withColumn("rid", F.lit(1).cast("bigint")), id="rid")
    aware = sp.withColumn("ts", F.col("ts").cast("timestamp_ltz"))  # the logs' ts are naive (TIMESTAMP_NTZ)
    with pytest.raises(InputError, match=re.escape(
            "Mixed naive and time-zone-aware timestamps: timestamp 'ts' is in UTC in the production log but naive in "
            "the candidate log. Make them agree, e.g. df.withColumn('ts', F.col('ts').cast('timestamp_ltz')) with "
            "spark.sql.session.timeZone set to 'UTC' on the candidate log if its times are UTC.")):
        check_shadow(aware, sc, id="rid", timestamp="ts")


def _random_audit_inputs(seed: int) -> dict:
    """A small random audit with everything the churn sample lacks: ties in time and available time
    with different values, null snapshot values, negative amounts (the join path), means and maxes,
    duplicated static rows and training values of every kind (point-in-time, event-time, later, junk)."""
    from workbench.leakage import Source, asof, static, window

    rng = np.random.default_rng(seed)
    base = dt.datetime(2026, 1, 1)
    hours = [dt.timedelta(hours=int(h)) for h in range(60)]
    n_ev, n_snap, n_lab = 400, 200, 150
    events = pl.DataFrame({
        "id": rng.integers(0, 12, n_ev), "t": [base + hours[h] for h in rng.integers(0, 48, n_ev)],
        "amount": rng.integers(-3, 10, n_ev).astype(float),
    }).with_columns((pl.col("t") + pl.duration(hours=pl.Series(rng.choice([0, 0, 1, 3, 10], n_ev)))).alias("avail"))
    snaps = pl.DataFrame({
        "id": rng.integers(0, 12, n_snap), "t": [base + hours[h] for h in rng.integers(0, 48, n_snap)],
        "v": pl.Series(rng.integers(0, 6, n_snap).astype(float)).set(pl.Series(rng.random(n_snap) < 0.1), None),
    }).with_columns((pl.col("t") + pl.duration(hours=pl.Series(rng.choice([0, 1, 5], n_snap)))).alias("written"))
    attrs = pl.DataFrame({"id": rng.integers(0, 12, 30), "tier": rng.choice(["a", "b", "c"], 30)})
    labels = pl.DataFrame({"id": rng.integers(0, 12, n_lab), "y": rng.integers(0, 2, n_lab),
                           "pt": [base + hours[h] for h in rng.integers(2, 56, n_lab)]})
    # small integer training values: many equal the recomputed value now, or at a later cutoff
    junk = rng.integers(0, 30, n_lab).astype(float)
    def some(values: np.ndarray, share: float) -> pl.Series:  # the rest null
        return pl.Series([float(v) if keep else None for v, keep in zip(values, rng.random(n_lab) < share,
                                                                          strict=True)], dtype=pl.Float64)

    labels = labels.with_columns(some(junk / 3, 0.5).alias("mean_5h"), some(junk % 9, 0.5).alias("max_all"),
                                 pl.Series("net", junk - 5), pl.Series("cnt_12h", junk % 4),
                                 some(junk % 6, 0.7).alias("snap"),
                                 pl.Series("tier", rng.choice(["a", "b", "c", "d"], n_lab)))
    return {
        "training": labels, "entity": "id", "prediction_time": "pt", "target": "y",
        "sources": {"ev": Source(events, entity="id", time="t", available_time="avail"),
                    "snaps": Source(snaps, entity="id", time="t", available_time="written"),
                    "attrs": Source(attrs, entity="id")},
        "features": {"mean_5h": window("ev", "amount", agg="mean", window="5h"),
                     "max_all": window("ev", "amount", agg="max"), "net": window("ev", "amount", agg="sum"),
                     "cnt_12h": window("ev", agg="count", window="12h"), "snap": asof("snaps", "v", ttl="6h"),
                     "tier": static("attrs", "tier")},
    }


@pytest.mark.parametrize("rule", ["inclusive_embargo", "event_time_only"])
def test_every_leakage_rule_and_aggregate_gives_identical_audits_on_every_engine(spark, rule):
    from workbench.leakage import check_leakage
    from workbench.leakage.spec import make_rule

    rules = {"inclusive_embargo": make_rule(inclusive=True, embargo="2h"),
             "event_time_only": make_rule(use_available_time=False)}
    kwargs = {**_random_audit_inputs(7), "rule": rules[rule], "max_examples": 500}
    base = check_leakage(**kwargs)
    statuses = base.tables["features"].select(pl.col("ok", "future_data", "non_asof_join", "feature_mismatch")
                                              .sum()).row(0, named=True)
    assert all(v > 0 for v in statuses.values()), statuses  # the data exercises every classification
    con = duckdb.connect()

    def moved(to):
        data = {k: dataclasses.replace(s, data=to(s.data)) for k, s in kwargs["sources"].items()}
        return {**kwargs, "training": to(kwargs["training"]), "sources": data}

    _same_audit(base, check_leakage(**moved(lambda df: con.from_arrow(df.to_arrow()))))
    _same_audit(base, check_leakage(**moved(lambda df: spark.createDataFrame(df.to_arrow()))))
