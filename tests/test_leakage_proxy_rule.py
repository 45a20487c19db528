"""Target-proxy grading: predictiveness alone is info; separation, sentinels or timing escalate.

Also: a check asked for that cannot run is a visible ``check_skipped`` finding, ``positive=``
maps any target to a binary label, and too little data is said.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from workbench.errors import ConfigError
from workbench.findings import validate_findings
from workbench.leakage import check_leakage

T0 = dt.datetime(2025, 3, 1)
N = 4000


def _frame(seed: int = 0, base_rate: float = 0.2, n: int = N, **features) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < base_rate).astype(np.int64)
    pt = pl.datetime_range(T0, T0 + dt.timedelta(hours=n - 1), "1h", eager=True)
    cols = {"id": np.arange(n), "pt": pt, "y": y}
    cols.update({name: make(y, rng) for name, make in features.items()})
    return pl.DataFrame(cols)


def _honest_continuous(y, rng):  # binormal, d' = 2.0: AUC 0.92
    return rng.normal(2.0 * y, 1.0)


def _honest_count(y, rng):  # Poisson(1) vs Poisson(4.5): AUC ~0.9, a long run of tail values
    return rng.poisson(np.where(y == 1, 4.5, 1.0))


def _honest_flag(y, rng):  # sensitivity 0.87, specificity 0.95: AUC 0.91
    return np.where(y == 1, rng.random(y.size) < 0.87, rng.random(y.size) < 0.05)


def _noisy_target(y, rng):  # the label with 2% of the rows flipped
    return np.where(rng.random(y.size) < 0.02, 1 - y, y).astype(float)


def _sentinel_number(y, rng):  # -1 written for 30% of the churners; otherwise a weak honest signal
    value = rng.normal(0.5 * y, 1.0).round(2) + 5
    return np.where((y == 1) & (rng.random(y.size) < 0.3), -1.0, value)


def _sentinel_status(y, rng):  # 'CLOSED' only when churned (30% of churners)
    status = rng.choice(["ACTIVE", "PAUSED", "TRIAL"], y.size)
    return np.where((y == 1) & (rng.random(y.size) < 0.3), "CLOSED", status)


def _present_after_outcome(y, rng):  # a fee recorded only for churners who cancelled (40% of them)
    return [float(rng.integers(10, 90)) if y[i] == 1 and rng.random() < 0.4 else None for i in range(y.size)]


def _proxy(result, feature):
    found = [f for f in result.by_kind("target_proxy") if f.subject == feature]
    row = result.to_polars("proxy").filter(pl.col("feature") == feature).row(0, named=True)
    return (found[0] if found else None), row


@pytest.mark.parametrize("make", [_honest_continuous, _honest_count, _honest_flag])
def test_an_honest_feature_with_auc_near_0_9_is_info_only(make):
    training = _frame(honest=make)
    result = check_leakage(training, entity="id", prediction_time="pt", target="y")
    finding, row = _proxy(result, "honest")
    expected = roc_auc_score(training["y"].to_numpy(), training["honest"].cast(pl.Float64).to_numpy())
    assert row["auc"] == pytest.approx(max(expected, 1 - expected), abs=1e-12)
    assert 0.9 < row["auc"] < 0.96
    assert finding is not None and finding.severity == "info"  # said, not alarmed
    assert finding.metrics["evidence"] == [] and finding.metrics["separation_lower"] < 0.85
    assert result.at_least("warning") == ()


def test_the_pure_top_values_of_an_honest_count_are_a_trend_not_a_sentinel():
    # 60k rows: the counts 8, 9, 10, ... are each > 99% churners with hundreds of rows, but so are their
    # neighbours: the end of a smooth trend, not a code
    training = _frame(n=60_000, honest=_honest_count)
    counts = training.group_by("honest").agg(pl.col("y").mean().alias("rate"), pl.len()).sort("honest")
    assert counts.filter((pl.col("rate") > 0.99) & (pl.col("len") >= 100)).height >= 1
    finding, _ = _proxy(check_leakage(training, entity="id", prediction_time="pt", target="y"), "honest")
    assert finding.severity == "info" and finding.metrics["sentinel"] is None


def test_a_planted_proxy_the_target_with_2_percent_noise_is_flagged():
    training = _frame(proxy=_noisy_target)
    finding, row = _proxy(check_leakage(training, entity="id", prediction_time="pt", target="y"), "proxy")
    expected = roc_auc_score(training["y"].to_numpy(), training["proxy"].to_numpy())
    assert row["auc"] == pytest.approx(expected, abs=1e-12)
    assert finding.severity in ("warning", "critical") and "separation" in finding.metrics["evidence"]
    # J = TPR - FPR of the cut at 0.5, from the confusion counts
    y, x = training["y"].to_numpy(), training["proxy"].to_numpy()
    j = (x[y == 1] == 1).mean() - (x[y == 0] == 1).mean()
    assert finding.metrics["separation"] == pytest.approx(j, abs=1e-12)


@pytest.mark.parametrize("make,value", [(_sentinel_number, "-1"), (_sentinel_status, "'CLOSED'"),
                                        (_present_after_outcome, "any non-null value")])
def test_a_sentinel_encoded_feature_is_flagged_though_its_auc_is_modest(make, value):
    training = _frame(encoded=make)
    result = check_leakage(training, entity="id", prediction_time="pt", target="y")
    finding, row = _proxy(result, "encoded")
    assert row["auc"] is None or row["auc"] < 0.8  # below proxy_auc: predictiveness alone says nothing
    assert finding.severity == "warning" and finding.metrics["evidence"] == ["sentinel"]
    sentinel = finding.metrics["sentinel"]
    assert sentinel["value"] == value and sentinel["class"] == "positive" and sentinel["purity"] == 1.0
    assert 0.25 < sentinel["class_share"] < 0.45
    assert f"its value {value} occurs in" in finding.message


def test_declared_clean_lineage_keeps_a_sentinel_at_info():
    training = _frame(encoded=_sentinel_status).with_columns(encoded_time=pl.col("pt") - dt.timedelta(days=1))
    result = check_leakage(training, entity="id", prediction_time="pt", target="y",
                           feature_timestamps={"encoded": "encoded_time"})
    finding, _ = _proxy(result, "encoded")
    assert finding.severity == "info" and finding.metrics["lineage"] == "clean"


# -- non-binary targets and positive= -------------------------------------------------------------

def _labelled(labels):
    """The noisy-target proxy with the label written as ``labels[0]`` (negative) / ``labels[1]``."""
    training = _frame(proxy=_noisy_target)
    return training.with_columns(pl.when(pl.col("y") == 1).then(pl.lit(labels[1])).otherwise(pl.lit(labels[0]))
                                 .alias("y"))


@pytest.mark.parametrize("labels,positive", [(("no", "yes"), "yes"), ((0, 2), 2), ((0, 2), "2")])
def test_a_non_binary_target_is_a_visible_skip_and_positive_maps_it(labels, positive):
    training = _labelled(labels)
    skipped = check_leakage(training, entity="id", prediction_time="pt", target="y")
    (finding,) = skipped.by_kind("check_skipped")
    assert finding.severity == "warning" and finding.subject == "target_proxy"
    assert "not a 0/1 or boolean label" in finding.message and "positive=" in finding.suggestion
    assert skipped.by_kind("target_proxy") == ()
    validate_findings(json.loads(skipped.to_json()))
    mapped = check_leakage(training, entity="id", prediction_time="pt", target="y", positive=positive)
    assert mapped.by_kind("check_skipped") == ()
    flagged, _ = _proxy(mapped, "proxy")
    assert flagged.severity in ("warning", "critical")
    base = check_leakage(_frame(proxy=_noisy_target), entity="id", prediction_time="pt", target="y")
    assert flagged.metrics == _proxy(base, "proxy")[0].metrics


def test_three_classes_with_positive_are_one_against_the_rest():
    training = _frame(proxy=_noisy_target).with_columns(
        pl.when(pl.col("y") == 1).then(pl.lit("churn")).when(pl.col("id") % 2 == 0).then(pl.lit("stay"))
        .otherwise(pl.lit("upgrade")).alias("y"))
    result = check_leakage(training, entity="id", prediction_time="pt", target="y", positive="churn")
    finding, _ = _proxy(result, "proxy")
    assert finding.metrics["positives"] == int((training["y"] == "churn").sum())


def test_a_positive_that_no_row_holds_or_of_the_wrong_kind_is_refused():
    training = _labelled(("no", "yes"))
    with pytest.raises(ConfigError, match=r"'positive' parameter of check_leakage is 'Yes', which no row of target "
                                          r"'y' holds; its values include \['no', 'yes'\]"):
        check_leakage(training, entity="id", prediction_time="pt", target="y", positive="Yes")
    with pytest.raises(ConfigError, match=r"must be text\. Got True: YAML reads unquoted yes/no.*positive: 'yes'"):
        check_leakage(training, entity="id", prediction_time="pt", target="y", positive=True)
    with pytest.raises(ConfigError, match=r"target 'y' is Int32\) must be a number\. Got 'two'"):
        check_leakage(_labelled((0, 2)), entity="id", prediction_time="pt", target="y", positive="two")


# -- other skips and too little data --------------------------------------------------------------

def test_a_split_without_the_named_values_is_a_visible_skip():
    training = _frame().with_columns(split=pl.when(pl.col("id") < 3000).then(pl.lit("training"))
                                     .otherwise(pl.lit("holdout")))
    result = check_leakage(training, entity="id", prediction_time="pt", split="split")
    (finding,) = result.by_kind("check_skipped")
    assert finding.subject == "split" and finding.severity == "warning"
    assert "values include ['holdout', 'training']" in finding.message
    fixed = check_leakage(training, entity="id", prediction_time="pt", split="split", train_value="training",
                          test_value="holdout")
    assert fixed.by_kind("check_skipped") == ()
    assert dict(fixed.to_polars("checks").iter_rows())["split"] == "'training' vs 'holdout' compared"


def test_checks_the_user_did_not_ask_for_are_not_findings():
    result = check_leakage(_frame(), entity="id", prediction_time="pt")  # no target, split, features
    assert result.by_kind("check_skipped") == ()
    assert dict(result.to_polars("checks").iter_rows())["target_proxy"] == "skipped: no target given"


def test_a_one_row_training_set_says_there_is_too_little_data():
    training = _frame().head(1)
    result = check_leakage(training, entity="id", prediction_time="pt", target="y")
    subjects = {f.subject: f for f in result.by_kind("insufficient_data")}
    assert set(subjects) == {"training", "y"} and all(f.severity == "info" for f in subjects.values())
    assert "training has 1 row(s)" in subjects["training"].message
    validate_findings(result.to_dict())


# -- parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,message", [
    ({"proxy_auc": 1.5}, r"'proxy_auc' parameter of check_leakage must be a number strictly between 0 and 1\. "
                         r"Got 1\.5"),
    ({"proxy_auc": "0.9"}, r"'proxy_auc' parameter .* Got '0\.9'"),
    ({"proxy_auc": 0.3}, r"'proxy_auc' parameter of check_leakage must be above 0\.5"),
    ({"max_examples": -1}, r"'max_examples' parameter of check_leakage must be an integer of at least 0"),
    ({"entity": 5}, r"'entity' parameter of check_leakage must be a column name \(text\)\. Got 5"),
    ({"features": ["spend"]}, r"'features' parameter of check_leakage must be a mapping .* Got a list"),
    ({"sources": {"tx": "tx.parquet"}}, r"'sources' parameter of check_leakage maps names to Source.*'tx': str"),
    ({"train_value": "a", "test_value": "a"}, r"'train_value' and 'test_value' parameters .* both 'a'"),
])
def test_invalid_parameters_are_refused_naming_them(kwargs, message):
    call = {"entity": "id", "prediction_time": "pt", "target": "y", **kwargs}
    with pytest.raises(ConfigError, match=message):
        check_leakage(_frame().head(50), **call)


# -- YAML config and CLI --------------------------------------------------------------------------

def _yes_no(tmp_path):
    path = tmp_path / "training.parquet"
    _labelled(("no", "yes")).write_parquet(path)
    return path


def test_cli_a_skipped_check_is_incomplete_not_pass_and_positive_fixes_it(tmp_path, capsys):
    from workbench.cli import main

    args = ["leakage", "--training", str(_yes_no(tmp_path)), "--entity", "id", "--prediction-time", "pt",
            "--target", "y", "--quiet"]
    assert main(args) == 1  # the default --fail-on critical used to print PASS and exit 0 here
    assert capsys.readouterr().out.strip() == ("INCOMPLETE: check(s) that could not run: target_proxy (see the "
                                               "check_skipped findings)")
    assert main([*args, "--fail-on", "none"]) == 0
    capsys.readouterr()
    out = tmp_path / "f.json"
    main([*args, "--positive", "yes", "--out", str(out), "--fail-on", "warning"])
    doc = json.loads(out.read_text())
    validate_findings(doc)
    assert [f["subject"] for f in doc["findings"] if f["kind"] == "target_proxy"] == ["proxy"]
    assert doc["parameters"]["positive"] == "yes"


def test_skipped_checks_and_too_little_data_are_documented_kinds_rendered_with_their_suggestion(tmp_path, capsys):
    import html
    import re

    from workbench.cli import main
    from workbench.findings import findings_schema
    from workbench.leakage import checks

    # every kind the leakage module documents is a documented kind of the findings schema
    documented = re.findall(r"^``([a-z_]+)``", checks.__doc__ or "", flags=re.MULTILINE)
    assert {"check_skipped", "insufficient_data", "stale_feature", "duplicate_rows"} <= set(documented)
    described = findings_schema()["$defs"]["finding"]["properties"]["kind"]["description"]
    leakage_kinds = re.search(r"Leakage: ([a-z_, ]+)\.", described).group(1).split(", ")
    assert set(documented) <= set(leakage_kinds)
    # a 5-row training set, a yes/no target without positive= and a split without 'train'/'test' rows
    path = tmp_path / "training.parquet"
    _labelled(("no", "yes")).head(5).with_columns(split=pl.lit("a")).write_parquet(path)
    out, report = tmp_path / "f.json", tmp_path / "report.html"
    code = main(["leakage", "--training", str(path), "--entity", "id", "--prediction-time", "pt",
                 "--target", "y", "--split", "split", "--out", str(out), "--report", str(report)])
    assert code == 1
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    validate_findings(doc)
    assert sorted((f["kind"], f["subject"]) for f in doc["findings"]) == [
        ("check_skipped", "split"), ("check_skipped", "target_proxy"), ("insufficient_data", "training")]
    page = report.read_text()
    for f in doc["findings"]:
        assert f["suggestion"] and f"{f['kind']:22} {f['subject']}: {f['message']}" in text
        assert f"-> {f['suggestion']}" in text
        assert f"<code>{f['kind']}</code>" in page
        assert html.escape(f["message"]) in page and html.escape(f["suggestion"]) in page
    assert "INCOMPLETE: check(s) that could not run: split, target_proxy" in text


def test_yaml_positive_and_top_level_types_are_checked(tmp_path):
    from workbench.leakage.config import load_audit_config

    _yes_no(tmp_path)
    base = "training: training.parquet\nentity: id\nprediction_time: pt\ntarget: y\n"

    def load(extra):
        (tmp_path / "a.yaml").write_text(base + extra)
        return load_audit_config(tmp_path / "a.yaml")

    kwargs = load("positive: 'yes'\n")
    assert kwargs["positive"] == "yes"
    finding, _ = _proxy(check_leakage(kwargs.pop("training"), **kwargs), "proxy")
    assert finding.severity in ("warning", "critical")
    unquoted = load("positive: yes\n")  # YAML 1.1 reads it as True: refused, saying to quote it
    with pytest.raises(ConfigError, match=r"quote it, e\.g\. positive: 'yes'"):
        check_leakage(unquoted.pop("training"), **unquoted)
    for extra, message in [
        ("training: 5\n", r"a\.yaml: 'training' must be text; got 5\. Quote it in YAML, e\.g\. training: '5'"),
        ("features: [spend]\n", r"'features' must be a mapping; got \['spend'\]\. e\.g\. features: \{spend_90d"),
        ("sources: [tx]\n", r"'sources' must be a mapping; got \['tx'\]"),
        ("sources: {tx: tx.parquet}\n", r"'sources\.tx' must be a mapping; got 'tx\.parquet'"),
        ("sources: {tx: {path: 5, entity: id}}\n", r"'sources\.tx\.path' must be text; got 5"),
        ("features: {spend: sum}\n", r"'features\.spend' must be a mapping; got 'sum'"),
        ("proxy_auc: 2\n", r"'proxy_auc' must be a number strictly between 0\.5 and 1; got 2"),
        ("engine: duckdb\n", r"config: 'engine' is not a setting: the audit runs where its inputs are \(paths and "
                              r"frames on polars, duckdb relations on duckdb, Spark DataFrames on Spark\); remove it"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load(extra)


# -- NaN is missing, like null ----------------------------------------------------------------------

def _nan_for_null(training: pl.DataFrame, column: str) -> pl.DataFrame:
    return training.with_columns(pl.col(column).fill_null(float("nan")))


def test_a_nan_number_is_left_out_of_the_auc_and_weighed_as_missing_like_null():
    # a fee recorded only for churners who cancelled: missing (written NaN, not null) for everybody else
    training = _nan_for_null(_frame(encoded=_present_after_outcome, honest=_honest_continuous), "encoded")
    training = training.with_columns(pl.when(pl.int_range(pl.len()) < 60).then(float("nan"))
                                     .otherwise(pl.col("honest")).alias("honest"))
    assert training["encoded"].null_count() == training["honest"].null_count() == 0
    result = check_leakage(training, entity="id", prediction_time="pt", target="y")
    finding, row = _proxy(result, "encoded")
    assert finding.severity == "warning" and finding.metrics["evidence"] == ["sentinel"]
    assert finding.metrics["sentinel"]["value"] == "any non-null value"
    present = training["encoded"].is_not_nan()
    assert finding.metrics["sentinel"]["rows"] == present.sum()
    assert row["auc"] is None  # the fee takes a handful of values on positives only: one class, no AUC
    _, honest = _proxy(result, "honest")
    known = training.filter(pl.col("honest").is_not_nan())
    assert honest["n"] == known.height == N - 60
    assert honest["auc"] == pytest.approx(roc_auc_score(known["y"].to_numpy(), known["honest"].to_numpy()), abs=1e-12)


def test_the_proxy_table_and_findings_are_the_same_whether_missing_is_written_null_or_nan():
    with_null = _frame(encoded=_present_after_outcome, noisy=_noisy_target).with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col("noisy")).alias("noisy"))
    with_nan = _nan_for_null(_nan_for_null(with_null, "encoded"), "noisy")
    results = [check_leakage(t, entity="id", prediction_time="pt", target="y") for t in (with_null, with_nan)]
    proxy = [r.to_polars("proxy") for r in results]
    assert proxy[0].equals(proxy[1])
    assert [f.to_dict() for f in results[0].by_kind("target_proxy")] == \
        [f.to_dict() for f in results[1].by_kind("target_proxy")]
    import duckdb

    on_duckdb = check_leakage(duckdb.connect().from_arrow(with_nan.to_arrow()), entity="id", prediction_time="pt",
                              target="y")
    assert on_duckdb.parameters["engine"] == "duckdb"
    assert on_duckdb.to_polars("proxy").equals(proxy[0])


# -- the vectorised evidence against the loop it replaced --------------------------------------------

def _loop_sentinel(counts: pl.DataFrame, null_pos: int, null_neg: int, *, ordered: bool, exact: bool):
    """The sentinel search as it was written before it was vectorised: every group, every minority
    class, one at a time (the neighbours walked value by value)."""
    from workbench.leakage.statistics import (
        MIXED_NEIGHBOUR,
        NEIGHBOUR_ROWS,
        SENTINEL_OTHER_SHARE,
        SENTINEL_OTHER_UPPER,
        _value_text,
    )
    from workbench.stats import wilson_interval

    def pure(k_class, k_other):
        m = k_class + k_other
        return m > 0 and k_other / m <= SENTINEL_OTHER_SHARE and wilson_interval(k_other, m)[1] <= SENTINEL_OTHER_UPPER

    def mixed(k, rows, other):
        for step in (-1, 1):
            j, n, o = k + step, 0.0, 0.0
            while 0 <= j < len(rows) and n < NEIGHBOUR_ROWS:
                n, o = n + rows[j], o + other[j]
                j += step
            if n and o / n < MIXED_NEIGHBOUR:
                return False
        return True

    pos, neg = counts["pos"].to_numpy().astype(float), counts["neg"].to_numpy().astype(float)
    labels = counts["value"].to_list()
    total_pos, total_neg = int(pos.sum()) + null_pos, int(neg.sum()) + null_neg
    minority = [c for c, mine, other in (("positive", total_pos, total_neg), ("negative", total_neg, total_pos))
                if 0 < mine <= other]
    groups = [(_value_text(labels[k]), int(pos[k]), int(neg[k]), k if ordered else None)
              for k in range(len(pos))] if exact else []
    if null_pos + null_neg:
        groups += [("null", null_pos, null_neg, None), ("any non-null value", int(pos.sum()), int(neg.sum()), None)]
    sentinel = None
    for label, k_pos, k_neg, index in groups:
        for cls in minority:
            k_c, k_o = (k_pos, k_neg) if cls == "positive" else (k_neg, k_pos)
            if not pure(k_c, k_o) or (index is not None and not mixed(index, pos + neg, neg if cls == "positive"
                                                                      else pos)):
                continue
            if sentinel is None or k_c > sentinel["rows_of_class"]:
                total = total_pos if cls == "positive" else total_neg
                sentinel = {"value": label, "rows": k_c + k_o, "rows_of_class": k_c, "class": cls,
                            "purity": k_c / (k_c + k_o), "class_share": k_c / total}
    return sentinel


def test_the_vectorised_sentinel_search_finds_what_the_loop_found():
    from workbench.leakage.statistics import proxy_evidence

    found: set[tuple[str, str]] = set()
    for seed in range(60):
        rng = np.random.default_rng(seed)
        m = int(rng.integers(1, 400))
        pos, neg = rng.poisson(rng.choice([0.3, 2, 8]), m), rng.poisson(rng.choice([0.3, 2, 8]), m)
        pure = rng.random(m) < 0.05  # a few values all of one class, some big enough to be sentinels
        pos[pure], neg[pure] = rng.choice([0, 1, 90, 200], pure.sum()), 0
        other = rng.random(m) < 0.03
        neg[other], pos[other] = rng.choice([0, 80, 150], other.sum()), rng.choice([0, 1], other.sum())
        empty = rng.random(m) < 0.05  # values whose rows all have a null label
        pos[empty], neg[empty] = 0, 0
        counts = pl.DataFrame({"score": np.arange(m, dtype=float) - 3.5, "pos": pos, "neg": neg,
                               "value": (np.arange(m, dtype=float) - 3.5) * rng.choice([1.0, 0.5])})
        for null_pos, null_neg in ((0, 0), (int(rng.integers(0, 120)), 0),
                                   (int(rng.integers(0, 30)), int(rng.integers(0, 30)))):
            for ordered, exact in ((True, True), (False, True), (True, False)):
                got = proxy_evidence(counts, null_pos, null_neg, ordered=ordered, exact=exact).sentinel
                assert got == _loop_sentinel(counts, null_pos, null_neg, ordered=ordered, exact=exact), seed
                if got is not None:
                    found.add((got["value"] if got["value"] in ("null", "any non-null value") else "a value",
                               got["class"]))
    # the tables exercise sentinel values of both classes and the null group
    assert {("a value", "positive"), ("a value", "negative"), ("null", "positive")} <= found, found


def test_the_vectorised_wilson_bound_is_the_scalar_one_bit_for_bit():
    from workbench.leakage.statistics import _wilson_upper
    from workbench.stats import wilson_interval

    n = np.concatenate([np.arange(1, 300), np.array([10**6 + 7, 3 * 10**7 + 1, 2**40 + 3])])
    k = np.concatenate([np.zeros(len(n), int), np.ones(len(n), int), n // 3, n // 100, n])
    n = np.tile(n, 5)
    got = _wilson_upper(k.astype(float), n.astype(float))
    assert got.tolist() == [wilson_interval(int(a), int(b))[1] for a, b in zip(k, n, strict=True)]
