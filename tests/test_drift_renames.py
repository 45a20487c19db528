"""Renames: a chosen rename is compared with the right reference column and named so everywhere; a
candidate pairing that is not chosen is no comparison (its columns are only added and dropped)."""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.drift import check_drift

N = 5000


def kinds_by_subject(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in result.findings:
        out.setdefault(f.subject, set()).add(f.kind)
    return out


def schema_changes(result) -> set[tuple[str, str]]:
    return set(result.to_polars("schema").select("column", "change").rows())


def test_a_rejected_pairing_beside_a_chosen_rename_is_not_compared():
    rng = np.random.default_rng(1)
    ref = pl.DataFrame({"amount": rng.gamma(2.0, 30.0, N), "amount_net": rng.normal(1000, 10, N),
                        "age": rng.integers(18, 80, N)})
    cur = pl.DataFrame({"amount_usd": rng.gamma(2.0, 30.0, N), "age": rng.integers(18, 80, N)})
    result = check_drift(ref, cur)
    # amount_usd is amount renamed (same data); amount_net was a candidate too, rejected (mean 1000 vs 60)
    assert schema_changes(result) == {("amount_usd", "renamed"), ("amount_net", "dropped")}
    assert "'amount'" in result.to_polars("schema").filter(pl.col("change") == "renamed")["detail"].item()
    cols = result.to_polars("columns").filter(pl.col("column") == "amount_usd")
    assert cols.select("reference_column", "status").rows() == [("amount", "stable")]
    assert kinds_by_subject(result) == {"amount_usd": {"schema_renamed"}, "amount_net": {"schema_dropped"}}
    assert set(result.to_polars("tests")["column"]) == {"amount_usd", "age"}
    assert result.to_polars("bins").filter(pl.col("column") == "amount_usd").height == 10


def test_a_changed_upstream_field_is_reported_added_and_dropped_not_compared():
    rng = np.random.default_rng(2)
    amount = rng.gamma(2.0, 30.0, N)
    ref = pl.DataFrame({"amount": amount, "age": rng.integers(18, 80, N)})
    # the producer now sends cents as integers: the same field, but not the same values
    cur = pl.DataFrame({"amount_cents": np.round(rng.gamma(2.0, 30.0, N) * 100).astype(np.int64),
                        "age": rng.integers(18, 80, N), "session_count": rng.poisson(3, N)})
    result = check_drift(ref, cur)
    assert schema_changes(result) == {("amount", "dropped"), ("amount_cents", "added"), ("session_count", "added")}
    assert kinds_by_subject(result) == {"amount": {"schema_dropped"}, "amount_cents": {"schema_added"},
                                        "session_count": {"schema_added"}}
    assert result.to_polars("columns")["column"].to_list() == ["age"]
    assert set(result.to_polars("bins")["column"]) == {"age"}


def test_an_accepted_rename_with_a_type_change_is_compared_with_its_old_column():
    rng = np.random.default_rng(3)
    ref = pl.DataFrame({"n_items": rng.poisson(3, N), "amount_net": rng.normal(1000, 10, N)})
    cur = pl.DataFrame({"num_items": rng.poisson(3, N).astype(np.float64),  # Int64 -> Float64
                        "session_count": rng.poisson(3, N)})  # unrelated, though its distribution is alike
    result = check_drift(ref, cur)
    assert schema_changes(result) == {("num_items", "renamed"), ("amount_net", "dropped"),
                                      ("session_count", "added")}
    cols = result.to_polars("columns")
    assert cols.select("column", "reference_column", "status").rows() == [("num_items", "n_items", "stable")]
    assert {f.kind for f in result.at_least("warning")} == {"schema_renamed", "schema_dropped"}
    assert result.to_polars("bins").filter(pl.col("column") == "num_items").height > 0
    assert kinds_by_subject(result)["session_count"] == {"schema_added"}


def test_a_drifted_rename_names_the_pair_the_schema_table_names():
    rng = np.random.default_rng(4)
    ref = pl.DataFrame({"amount": rng.gamma(2.0, 30.0, N), "amount_net": rng.normal(1000, 10, N)})
    cur = pl.DataFrame({"amount_usd": rng.gamma(2.0, 30.0, N) * 1.5})  # renamed and drifted
    result = check_drift(ref, cur)
    renamed = result.to_polars("schema").filter(pl.col("change") == "renamed").row(0, named=True)
    assert renamed["column"] == "amount_usd" and "likely renamed from 'amount'" in renamed["detail"]
    drifted = [f for f in result.findings if f.kind == "distribution_drift"]
    assert len(drifted) == 1 and drifted[0].severity == "critical"
    assert drifted[0].message.startswith("amount_usd (renamed from amount) drifted")
    assert not [f for f in result.findings if "amount_net" in f.message and f.kind != "schema_dropped"]
