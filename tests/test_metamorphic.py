"""Metamorphic tests: the same data told differently gives the same findings, for every check.

Variants: rows shuffled, columns reordered, columns renamed (to names the checks use inside their
computations, such as ``segment``, ``n`` or ``bin``), the data split into other parquet partitions, and the
same frame given as pandas, arrow, a polars LazyFrame or a duckdb relation. Findings are compared on kind,
severity, subject, scope and every number (to 1e-9 relative), with renamed columns mapped back.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest
from llm_logs import llm_logs

from tests.service_data import Plan, make_log
from workbench.drift import check_drift
from workbench.leakage import Source, check_leakage, static, window
from workbench.llm import check_llm
from workbench.performance import check_calibration, check_performance, check_subgroups
from workbench.service import check_service
from workbench.shadow import check_shadow

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
# names the checks have used for their own helper columns: a user column may be called any of them
INTERNAL_LIKE = ["segment", "scope", "window", "n", "bin", "side", "row", "status", "lag", "value", "count",
                 "__y", "__p", "__pred", "__ts", "__label", "__row", "key", "index", "label"]


# -- normalising a result ---------------------------------------------------------------------------
def _norm_value(value: Any, back: Mapping[str, str]) -> Any:
    """Numbers to 9 significant digits; strings that are renamed columns back to their names (keys of
    mappings are the checks' own words, except segment filters: see :func:`_norm_scope`)."""
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.9g}")
    if isinstance(value, str):
        if value in back:
            return back[value]
        # scope labels such as "region=eu, device=tablet"
        parts = [p.split("=", 1) for p in value.split(", ")]
        if all(len(p) == 2 for p in parts):
            return ", ".join(f"{back.get(k, k)}={v}" for k, v in parts)
        return value
    if isinstance(value, Mapping):
        return {str(k): _norm_value(v, back) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        items = [_norm_value(v, back) for v in value]
        # lists of scope labels are ordered by name, which a rename changes
        return sorted(items) if items and all(isinstance(v, str) for v in items) else items
    return value


def _norm_scope(scope: Mapping[str, Any], back: Mapping[str, str]) -> dict[str, Any]:
    out = _norm_value(scope, back)
    if isinstance(scope.get("segment"), Mapping):
        out["segment"] = {back.get(k, k): _norm_value(v, back) for k, v in sorted(scope["segment"].items())}
    return out


def _norm_subject(subject: str, back: Mapping[str, str]) -> str:
    if subject in back:
        return back[subject]
    if subject.startswith("(") and subject.endswith(")"):  # a key of several columns: "(entity, time)"
        return "(" + ", ".join(back.get(p, p) for p in subject[1:-1].split(", ")) + ")"
    return subject


def signature(result: Any, back: Mapping[str, str] | None = None, *, messages: bool = True) -> list[dict[str, Any]]:
    """The findings as comparable dicts; ``back`` maps renamed columns to the original names."""
    back = back or {}
    out = []
    for f in result.findings:
        d = f.to_dict()
        item = {"kind": d["kind"], "severity": d["severity"], "subject": _norm_subject(d["subject"], back),
                "scope": _norm_scope(d["scope"], back), "metrics": _norm_value(d["metrics"], back)}
        if messages:
            item["message"] = d["message"]
        out.append(item)
    return sorted(out, key=lambda x: json.dumps(x, sort_keys=True, default=str))


def assert_same_findings(a: Any, b: Any, back: Mapping[str, str] | None = None, *, messages: bool = True) -> None:
    sa, sb = signature(a, messages=messages), signature(b, back, messages=messages)
    assert len(sa) == len(sb), ([(x["kind"], x["subject"]) for x in sa], [(x["kind"], x["subject"]) for x in sb])
    for x, y in zip(sa, sb, strict=True):
        assert x == y


# -- the checks on data with findings ----------------------------------------------------------------
def _read(name: str) -> pl.DataFrame:
    path = SAMPLE / name
    if path.suffix:
        return pl.read_parquet(path)
    # a folder of partitions whose schemas evolve: one frame, missing columns null, types relaxed
    return pl.concat([pl.read_parquet(p) for p in sorted(path.rglob("*.parquet"))], how="diagonal_relaxed")


def shadow_inputs() -> dict[str, pl.DataFrame]:
    return {"production": _read("shadow/production.parquet"), "candidate": _read("shadow/candidate.parquet"),
            "labels": _read("shadow/labels.parquet")}


def run_shadow(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_shadow(inputs["production"], inputs["candidate"], id=cols("request_id"), timestamp=cols("ts"),
                        prediction=cols("prediction"), score=cols("score"), latency=cols("latency_ms"),
                        error=cols("error"), by=[cols("region"), cols("device")], labels=inputs["labels"],
                        label=cols("label"), label_time=cols("label_time"),
                        as_of=dt.datetime(2026, 3, 3, tzinfo=dt.UTC))


def performance_inputs() -> dict[str, pl.DataFrame]:
    return {"predictions": _read("performance/predictions.parquet"), "labels": _read("performance/labels.parquet"),
            "reference": _read("performance/reference.parquet")}


def run_performance(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_performance(inputs["predictions"], labels=inputs["labels"], id=cols("request_id"), label=cols("label"),
                             label_time=cols("label_time"), as_of=dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC),
                             prediction=cols("prediction"), score=cols("score"),
                             by=[cols("region"), cols("device"), cols("plan")], timestamp=cols("ts"), window="1h",
                             reference=inputs["reference"])


def labelled_inputs() -> dict[str, pl.DataFrame]:
    """The performance sample with its labels joined (for subgroups and calibration)."""
    pred = _read("performance/predictions.parquet")
    lab = _read("performance/labels.parquet").select("request_id", "label")
    joined = pred.join(lab, on="request_id", how="inner")
    return {"data": joined, "reference": _read("performance/reference.parquet")}


def run_subgroups(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_subgroups(inputs["data"], target=cols("label"), prediction=cols("prediction"), score=cols("score"),
                           by=[cols("region"), cols("device"), cols("plan")])


def run_calibration(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_calibration(inputs["reference"], inputs["data"], score=cols("score"), target=cols("label"),
                             by=[cols("region"), cols("device")], timestamp=cols("ts"), window="1d")


def drift_inputs() -> dict[str, pl.DataFrame]:
    return {"reference": _read("monitoring/reference.parquet"), "current": _read("monitoring/current")}


def run_drift(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_drift(inputs["reference"], inputs["current"], timestamp=cols("ts"), exclude=[cols("request_id")],
                       score=cols("score"), target=cols("label"))


def leakage_inputs() -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(3)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    n, m = 600, 4000
    ev_time = [t0 + dt.timedelta(hours=int(h)) for h in rng.integers(0, 24 * 60, m)]
    events = pl.DataFrame({"cust": rng.integers(0, 60, m), "event_time": ev_time,
                           "ingested_at": [t + dt.timedelta(minutes=int(d)) for t, d in
                                           zip(ev_time, rng.exponential(30, m), strict=True)],
                           "amount": rng.normal(20, 5, m).round(2)})
    snaps = pl.DataFrame({"cust": np.repeat(np.arange(60), 10),
                          "snap_time": [t0 + dt.timedelta(days=int(d)) for d in np.tile(np.arange(0, 60, 6), 60)],
                          "balance": rng.normal(100, 30, 600).round(2)})
    customers = pl.DataFrame({"cust": np.arange(60), "region": rng.choice(["n", "s"], 60)})
    pt = [t0 + dt.timedelta(hours=int(h)) for h in rng.integers(24 * 10, 24 * 60, n)]
    training = pl.DataFrame({"cust": rng.integers(0, 60, n), "pt": pt})
    # values computed with data up to a day after the prediction (a planted leak on one feature)
    spend = []
    for c, p in training.select("cust", "pt").iter_rows():
        late = p + dt.timedelta(days=1)
        sel = events.filter((pl.col("cust") == c) & (pl.col("event_time") < late)
                            & (pl.col("event_time") >= p - dt.timedelta(days=30)))
        spend.append(float(sel["amount"].sum()))
    target = (rng.uniform(0, 1, n) < 0.3).astype(int)
    training = training.with_columns(spend_30d=pl.Series(spend), churned=pl.Series(target),
                                     split=pl.Series(np.where(rng.uniform(0, 1, n) < 0.8, "train", "test")))
    training = training.join(customers, on="cust", how="left")
    return {"training": training, "events": events, "snapshots": snaps, "customers": customers}


def run_leakage(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_leakage(
        inputs["training"], entity=cols("cust"), prediction_time=cols("pt"), target=cols("churned"),
        split=cols("split"),
        sources={"events": Source(inputs["events"], entity=cols("cust"), time=cols("event_time"),
                                  available_time=cols("ingested_at")),
                 "snapshots": Source(inputs["snapshots"], entity=cols("cust"), time=cols("snap_time")),
                 "customers": Source(inputs["customers"], entity=cols("cust"))},
        features={cols("spend_30d"): window("events", cols("amount"), agg="sum", window="30d"),
                  cols("region"): static("customers", cols("region"))},
    )


def llm_inputs() -> dict[str, pl.DataFrame]:
    return {"requests": llm_logs(8, hours=120, per_hour=800, hallucination=True, spike=True, onset=108)}


LLM_COLUMNS = ("request_id", "timestamp", "api_key", "user_id", "model", "input_tokens", "output_tokens", "cost",
               "latency_ms", "status", "grounded", "k", "retrieved", "first_relevant_rank", "relevance_known",
               "retrieval_latency_ms", "query_type")


def run_llm(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_llm(inputs["requests"], **{c: cols(c) for c in LLM_COLUMNS},
                     by=[cols("region"), cols("query_type"), cols("model")],
                     versions=[cols("model_version"), cols("prompt_version")])


def service_inputs() -> dict[str, pl.DataFrame]:
    return {"requests": make_log(np.random.default_rng(5), 6_000, Plan(storm=True, outage=True, duplicates=4))}


SERVICE_COLUMNS = ("request_id", "timestamp", "idempotency_key", "attempt", "status", "error_class", "latency_ms",
                   "output_hash", "side_effect_id", "fallback", "dependency", "circuit_open")


def run_service(inputs: Mapping[str, Any], cols: Callable[[str], str] = lambda c: c) -> Any:
    return check_service(inputs["requests"], by=[cols("client_id"), cols("region"), cols("endpoint")],
                         **{c: cols(c) for c in SERVICE_COLUMNS})


CHECKS: dict[str, tuple[Callable[[], dict[str, pl.DataFrame]], Callable[..., Any]]] = {
    "shadow": (shadow_inputs, run_shadow),
    "performance": (performance_inputs, run_performance),
    "subgroups": (labelled_inputs, run_subgroups),
    "calibration": (labelled_inputs, run_calibration),
    "drift": (drift_inputs, run_drift),
    "leakage": (leakage_inputs, run_leakage),
    "llm": (llm_inputs, run_llm),
    "service": (service_inputs, run_service),
}


@pytest.fixture(scope="module")
def baselines() -> dict[str, tuple[dict[str, pl.DataFrame], Any]]:
    out = {}
    for name, (make, run) in CHECKS.items():
        inputs = make()
        out[name] = (inputs, run(inputs))
    return out


def test_every_baseline_has_findings_to_compare(baselines):
    for name, (_, result) in baselines.items():
        assert result.at_least("warning"), f"{name}: the metamorphic baseline must have something to find"


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_shuffled_rows_give_the_same_findings(check, baselines):
    inputs, expected = baselines[check]
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=11) for k, v in inputs.items()}
    assert_same_findings(expected, CHECKS[check][1](shuffled))


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_reordered_columns_give_the_same_findings(check, baselines):
    inputs, expected = baselines[check]
    reordered = {k: v.select(list(reversed(v.columns))) for k, v in inputs.items()}
    assert_same_findings(expected, CHECKS[check][1](reordered))


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_columns_renamed_to_internal_looking_names_give_the_same_findings(check, baselines):
    inputs, expected = baselines[check]
    used = sorted({c for v in inputs.values() for c in v.columns})
    names = iter(INTERNAL_LIKE + [f"col {i} with spaces" for i in range(len(used))])
    mapping = {c: next(names) for c in used}
    taken = set(mapping.values())
    assert len(taken) == len(mapping)
    renamed = {k: v.rename({c: mapping[c] for c in v.columns}) for k, v in inputs.items()}
    result = CHECKS[check][1](renamed, lambda c: mapping.get(c, c))
    assert_same_findings(expected, result, {v: k for k, v in mapping.items()}, messages=False)


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_inputs_in_other_parquet_partitions_give_the_same_findings(check, baselines, tmp_path):
    inputs, expected = baselines[check]
    paths = {}
    for k, v in inputs.items():
        folder = tmp_path / k
        folder.mkdir()
        for i, part in enumerate(v.sample(fraction=1.0, shuffle=True, seed=5).iter_slices(max(1, v.height // 3 + 1))):
            part.write_parquet(folder / f"part-{i}.parquet")
        paths[k] = str(folder / "*.parquet")
    assert_same_findings(expected, CHECKS[check][1](paths))


FORMS: dict[str, Callable[[pl.DataFrame], Any]] = {
    "pandas": lambda f: f.to_pandas(),
    "arrow": lambda f: f.to_arrow(),
    "lazy": lambda f: f.lazy(),
    "duckdb": lambda f: duckdb.from_arrow(f.to_arrow()),
}


@pytest.mark.parametrize("form", [pytest.param(f, marks=pytest.mark.slow) if f == "duckdb" else f  # an engine
                                  for f in sorted(FORMS)])
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_the_same_data_in_another_frame_type_gives_the_same_findings(check, form, baselines):
    inputs, expected = baselines[check]
    if form == "duckdb" and check == "leakage":
        # relations from one connection (the audit refuses a mix of connections, by name)
        con = duckdb.connect()
        converted = {k: con.from_arrow(v.to_arrow()) for k, v in inputs.items()}
    else:
        converted = {k: FORMS[form](v) for k, v in inputs.items()}
    assert_same_findings(expected, CHECKS[check][1](converted))
