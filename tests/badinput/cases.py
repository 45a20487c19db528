"""Bad-input cases for every check: small valid inputs, and one mutation each.

A case is ``(check, what, call, error)``: ``call()`` runs the check with one thing wrong, and
``error`` is a regex the error message must match (it names the column or parameter and the fix).
Builders return fresh frames each time so a case cannot leak into another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

from workbench.drift import DriftRule, check_drift, check_skew, fit_profile
from workbench.leakage import Source, asof, check_leakage, make_rule, window
from workbench.performance import check_calibration, check_performance, check_subgroups
from workbench.shadow import Guardrails, check_shadow

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
N = 400


@dataclass(frozen=True)
class Case:
    """``error``: a regex the WorkbenchError's message must match; or ``finding``: the kind of finding the
    result must carry instead (bad data the check reports rather than refuses)."""

    check: str
    what: str
    call: Callable[[], object]
    error: str | None = None
    finding: str | None = None

    @property
    def id(self) -> str:
        return f"{self.check}: {self.what}"


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


# -- valid inputs -------------------------------------------------------------------------------
def training() -> pl.DataFrame:
    rng = _rng()
    return pl.DataFrame({
        "customer_id": np.arange(N) % 50,
        "prediction_time": [T0 + dt.timedelta(hours=int(h)) for h in rng.integers(24, 24 * 30, N)],
        "churned": rng.integers(0, 2, N),
        "spend": rng.normal(100, 10, N),
        "balance": rng.normal(5, 1, N),
        "split": np.where(np.arange(N) < 300, "train", "test"),
    })


def events() -> pl.DataFrame:
    rng = _rng()
    times = [T0 + dt.timedelta(hours=int(h)) for h in rng.integers(0, 24 * 30, 2000)]
    return pl.DataFrame({"customer_id": rng.integers(0, 50, 2000), "event_time": times,
                         "ingested_at": [t + dt.timedelta(minutes=5) for t in times],
                         "amount": rng.normal(10, 2, 2000)})


def logs() -> pl.DataFrame:
    rng = _rng()
    score = rng.uniform(0, 1, N)
    return pl.DataFrame({"request_id": np.arange(N), "ts": [T0 + dt.timedelta(minutes=i) for i in range(N)],
                         "region": rng.choice(["eu", "us"], N), "score": score,
                         "prediction": (score >= 0.5).astype(int), "latency_ms": rng.gamma(2, 20, N),
                         "error": np.zeros(N, dtype=bool), "label": (rng.uniform(0, 1, N) < score).astype(int)})


def labels() -> pl.DataFrame:
    frame = logs()
    return frame.select("request_id", "label",
                        label_time=pl.col("ts") + pl.duration(hours=1))


def monitoring() -> pl.DataFrame:
    rng = _rng()
    return pl.DataFrame({"x": rng.normal(0, 1, N), "c": rng.choice(["a", "b", "c"], N),
                         "ts": [T0 + dt.timedelta(minutes=10 * i) for i in range(N)]})


# -- the checks called on valid inputs, with overrides --------------------------------------------
def leak(training_frame=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(entity="customer_id", prediction_time="prediction_time", target="churned", split="split",
                sources={"tx": Source(events(), entity="customer_id", time="event_time",
                                      available_time="ingested_at")},
                features={"spend": window("tx", "amount", agg="sum", window="30d")})
    args.update(kw)
    return check_leakage(training() if training_frame is None else training_frame, **args)


def shadow(prod=None, cand=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(id="request_id", timestamp="ts", prediction="prediction", score="score", latency="latency_ms",
                error="error", by="region")
    args.update(kw)
    return check_shadow(logs().drop("label") if prod is None else prod,
                        logs().drop("label") if cand is None else cand, **args)


def perf(pred=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(by="region", target="label", prediction="prediction", score="score", timestamp="ts")
    args.update(kw)
    return check_performance(logs() if pred is None else pred, **args)


def subg(data=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(by="region", target="label", prediction="prediction", score="score")
    args.update(kw)
    return check_subgroups(logs() if data is None else data, **args)


def calib(ref=None, cur=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(score="score", target="label")
    args.update(kw)
    return check_calibration(logs() if ref is None else ref, logs() if cur is None else cur, **args)


def drft(ref=None, cur=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(timestamp="ts")
    args.update(kw)
    return check_drift(monitoring() if ref is None else ref, monitoring() if cur is None else cur, **args)


def skew(tr=None, sv=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(id="request_id")
    args.update(kw)
    return check_skew(logs() if tr is None else tr, logs() if sv is None else sv, **args)


def profile(ref=None, **kw):  # type: ignore[no-untyped-def]
    return fit_profile(monitoring() if ref is None else ref, **kw)


def _naive(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(column).dt.replace_time_zone(None))


def _as_str(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(column).cast(pl.String))


def _null_first(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col(column))
                              .alias(column))


def _dup_first(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.head(3)])


CALLS_WITH_PARAMETER = {
    "check_leakage": leak, "check_shadow": shadow, "check_performance": perf, "check_subgroups": subg,
    "check_calibration": calib, "check_drift": drft,
}


def cases() -> list[Case]:
    out: list[Case] = []

    def add(check: str, what: str, call: Callable[[], object], error: str) -> None:
        out.append(Case(check, what, call, error=error))

    def reported(check: str, what: str, call: Callable[[], object], finding: str) -> None:
        out.append(Case(check, what, call, finding=finding))

    # ---- leakage -----------------------------------------------------------------------------
    add("check_leakage", "misspelled entity", lambda: leak(entity="customer"), r"customer.*customer_id")
    add("check_leakage", "misspelled target", lambda: leak(target="churn"), r"churn.*churned")
    add("check_leakage", "misspelled split", lambda: leak(split="splt"), r"splt.*split")
    add("check_leakage", "prediction time as text", lambda: leak(_as_str(training(), "prediction_time")),
        r"prediction_time")
    add("check_leakage", "naive prediction time, aware source", lambda: leak(_naive(training(), "prediction_time")),
        r"(naive|time zone)")
    add("check_leakage", "null entity", lambda: leak(_null_first(training(), "customer_id")), r"customer_id.*null")
    add("check_leakage", "null prediction time", lambda: leak(_null_first(training(), "prediction_time")),
        r"prediction_time.*null")
    add("check_leakage", "empty training", lambda: leak(training().head(0)), r"(empty|no rows)")
    add("check_leakage", "features given as a list", lambda: leak(features=["spend"]), r"features.*(mapping|dict)")
    add("check_leakage", "sources given as a list", lambda: leak(sources=["tx"]), r"sources.*(mapping|dict)")
    add("check_leakage", "feature on an unknown source",
        lambda: leak(features={"spend": window("txn", "amount")}), r"txn.*tx")
    add("check_leakage", "feature column missing from training",
        lambda: leak(features={"spnd": window("tx", "amount")}), r"spnd.*spend")
    add("check_leakage", "source column missing",
        lambda: leak(features={"spend": window("tx", "amt")}), r"amt.*amount")
    add("check_leakage", "proxy_auc above 1", lambda: leak(proxy_auc=1.5), r"proxy_auc")
    add("check_leakage", "proxy_auc as text", lambda: leak(proxy_auc="high"), r"proxy_auc")
    add("check_leakage", "max_examples negative", lambda: leak(max_examples=-1), r"max_examples")
    add("check_leakage", "rule given as a dict", lambda: leak(rule={"inclusive": True}), r"rule.*make_rule")
    add("check_leakage", "window of zero", lambda: window("tx", "amount", window="0s"), r"'window'.*greater than zero")
    add("check_leakage", "negative ttl", lambda: asof("tx", "amount", ttl=dt.timedelta(hours=-1)),
        r"'ttl'.*greater than zero")
    add("check_leakage", "inclusive not a boolean", lambda: make_rule(inclusive="maybe"), r"'inclusive'.*true or false")
    add("check_leakage", "source event time as text",
        lambda: leak(sources={"tx": Source(_as_str(events(), "event_time"), entity="customer_id",
                                           time="event_time", available_time="ingested_at")}), r"event_time")
    add("check_leakage", "source entity type differs",
        lambda: leak(sources={"tx": Source(_as_str(events(), "customer_id"), entity="customer_id",
                                           time="event_time", available_time="ingested_at")}), r"customer_id")
    reported("check_leakage", "target with three classes",
             lambda: leak(training().with_columns(churned=pl.col("churned") + (pl.int_range(pl.len()) % 3 == 0))),
             "check_skipped")

    # ---- drift ---------------------------------------------------------------------------------
    add("check_drift", "misspelled timestamp", lambda: drft(timestamp="tss"), r"tss.*ts")
    add("check_drift", "misspelled by", lambda: drft(by="cc"), r"cc")
    add("check_drift", "misspelled column", lambda: drft(columns=["xx"]), r"xx")
    add("check_drift", "window of zero", lambda: drft(window=dt.timedelta(0)), r"'window'.*greater than zero")
    add("check_drift", "negative window", lambda: drft(window="-1h"), r"'window'.*greater than zero")
    add("check_drift", "window without timestamp", lambda: drft(timestamp=None, window="1h"), r"window needs timestamp")
    add("check_drift", "bins zero", lambda: drft(bins=0), r"bins")
    add("check_drift", "max_categories zero", lambda: drft(max_categories=0), r"max_categories")
    add("check_drift", "multivariate not a boolean", lambda: drft(multivariate="yes"), r"multivariate")
    reported("check_drift", "empty current", lambda: drft(cur=monitoring().head(0)), "insufficient_data")
    add("check_drift", "empty reference", lambda: drft(ref=monitoring().head(0)), r"(empty|no rows)")
    add("check_drift", "timestamp as text", lambda: drft(cur=_as_str(monitoring(), "ts")), r"ts")
    add("check_drift", "rule confidence above 1", lambda: DriftRule(confidence=1.5), r"confidence")
    add("check_drift", "rule fdr of zero", lambda: DriftRule(fdr=0.0), r"fdr")
    add("check_drift", "exclude with a misspelt column",
        lambda: drft(exclude="tss"), r"exclude=\[.tss.\].*Did you mean .ts.")
    add("fit_profile", "misspelled column", lambda: profile(columns=["xx"]), r"xx")
    add("fit_profile", "empty reference", lambda: profile(monitoring().head(0)), r"(empty|no rows)")
    add("fit_profile", "misspelled by", lambda: profile(by=["cc"]), r"cc")
    add("check_skew", "misspelled id", lambda: skew(id="request"), r"request.*request_id")
    add("check_skew", "duplicate ids", lambda: skew(tr=_dup_first(logs())),
        r"request_id.*(duplicate|unique)")
    add("check_skew", "null ids", lambda: skew(tr=_null_first(logs(), "request_id")), r"null 'request_id'")
    add("check_skew", "id types differ", lambda: skew(tr=_as_str(logs(), "request_id")), r"request_id")
    reported("check_skew", "one matched request", lambda: skew(tr=logs().head(1), sv=logs().head(1)),
             "insufficient_data")
    add("check_skew", "misspelled column", lambda: skew(columns=["scor"]), r"scor.*score")

    # ---- shadow --------------------------------------------------------------------------------
    add("check_shadow", "misspelled id", lambda: shadow(id="request"), r"request.*request_id")
    add("check_shadow", "misspelled by", lambda: shadow(by="regoin"), r"regoin.*region")
    add("check_shadow", "score above 1",
        lambda: shadow(cand=logs().drop("label").with_columns(score=pl.col("score") * 2)), r"score.*\[0, 1\]")
    reported("check_shadow", "null ids", lambda: shadow(prod=_null_first(logs().drop("label"), "request_id")),
             "duplicate_requests")
    add("check_shadow", "id types differ", lambda: shadow(cand=_as_str(logs().drop("label"), "request_id")),
        r"request_id")
    add("check_shadow", "latency as text", lambda: shadow(cand=_as_str(logs().drop("label"), "latency_ms")),
        r"latency_ms")
    add("check_shadow", "negative latency",
        lambda: shadow(cand=logs().drop("label").with_columns(latency_ms=-pl.col("latency_ms"))), r"latency_ms")
    add("check_shadow", "naive vs aware timestamps", lambda: shadow(cand=_naive(logs().drop("label"), "ts")), r"ts")
    reported("check_shadow", "empty candidate", lambda: shadow(cand=logs().drop("label").head(0)), "coverage_gap")
    add("check_shadow", "confidence above 1", lambda: shadow(confidence=1.5), r"confidence")
    add("check_shadow", "fdr of zero", lambda: shadow(fdr=0), r"fdr")
    add("check_shadow", "unknown mode", lambda: shadow(mode="blue-green"), r"mode.*(shadow|canary)")
    add("check_shadow", "unknown task", lambda: shadow(task="ranking"), r"task")
    add("check_shadow", "stage above 1", lambda: shadow(stage=1.5), r"stage")
    add("check_shadow", "stages decreasing", lambda: shadow(stages=[0.5, 0.1]), r"stages")
    add("check_shadow", "as_of not a time", lambda: shadow(labels=labels(), label_time="label_time", as_of="soon"),
        r"as_of")
    add("check_shadow", "as_of without label_time", lambda: shadow(labels=labels(), as_of=T0), r"label_time")
    add("check_shadow", "labels {0, 2}",
        lambda: shadow(labels=labels().with_columns(label=pl.col("label") * 2)), r"label.*\b2\b")
    add("check_shadow", "labels misspelled id", lambda: shadow(labels=labels().rename({"request_id": "rid"})),
        r"request_id")
    add("check_shadow", "guardrail latency ratio zero", lambda: Guardrails(latency_ratio=0), r"latency_ratio")
    add("check_shadow", "guardrail min_requests zero", lambda: Guardrails(min_requests=0), r"min_requests")

    # ---- performance -----------------------------------------------------------------------------
    add("check_performance", "misspelled by", lambda: perf(by="regoin"), r"regoin.*region")
    add("check_performance", "misspelled target", lambda: perf(target="lable"), r"lable.*label")
    add("check_performance", "threshold above 1", lambda: perf(prediction=None, threshold=2.0), r"threshold")
    add("check_performance", "confidence of 1", lambda: perf(confidence=1.0), r"confidence")
    add("check_performance", "fdr above 1", lambda: perf(fdr=2), r"fdr")
    add("check_performance", "depth zero", lambda: perf(depth=0), r"depth")
    add("check_performance", "min_support zero", lambda: perf(min_support=0), r"min_support")
    add("check_performance", "window of zero", lambda: perf(window="0s"), r"'window'.*greater than zero")
    add("check_performance", "score above 1", lambda: perf(logs().with_columns(score=pl.col("score") + 1)), r"score")
    add("check_performance", "labels {0, 2}", lambda: perf(logs().with_columns(label=pl.col("label") * 2)), r"label")
    add("check_performance", "empty predictions", lambda: perf(logs().head(0)), r"predictions: the input is empty")
    add("check_performance", "as_of not a time",
        lambda: perf(logs().drop("label"), target=None, labels=labels(), id="request_id", label_time="label_time",
                     as_of=12), r"as_of")
    add("check_performance", "labels duplicate ids",
        lambda: perf(logs().drop("label"), target=None, labels=_dup_first(labels()), id="request_id"),
        r"duplicate values of 'request_id'")
    add("check_performance", "timestamp as text", lambda: perf(_as_str(logs(), "ts")), r"ts")
    add("check_subgroups", "misspelled by", lambda: subg(by="regoin"), r"regoin.*region")
    add("check_subgroups", "threshold of 0", lambda: subg(prediction=None, threshold=0.0), r"threshold")
    add("check_subgroups", "unknown task", lambda: subg(task="ranking"), r"task")
    add("check_subgroups", "auc not a boolean", lambda: subg(auc="yes"), r"auc")
    add("check_subgroups", "window of zero", lambda: subg(timestamp="ts", window=dt.timedelta(0)),
        r"'window'.*greater than zero")
    add("check_subgroups", "labels {0, 2}", lambda: subg(logs().with_columns(label=pl.col("label") * 2)), r"label")
    add("check_calibration", "bins zero", lambda: calib(bins=0), r"bins")
    add("check_calibration", "score above 1",
        lambda: calib(cur=logs().with_columns(score=pl.col("score") * 3)), r"score")
    add("check_calibration", "confidence 0", lambda: calib(confidence=0), r"confidence")
    add("check_calibration", "window of zero",
        lambda: calib(timestamp="ts", window="0s"), r"'window'.*greater than zero")
    add("check_calibration", "misspelled score", lambda: calib(score="scroe"), r"scroe.*score")
    add("check_calibration", "labels {0, 2}",
        lambda: calib(cur=logs().with_columns(label=pl.col("label") * 2)), r"label")

    # ---- frames no check can use ---------------------------------------------------------------
    bad_frames = {
        "pandas duplicate column names": (lambda: pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"]),
                                          r"duplicate column names \['a'\]"),
        "pandas object column mixing str and int": (lambda: pd.DataFrame({"a": [1, "x", 2]}),
                                                    r"column 'a' mixes values of types \['int', 'str'\].*astype"),
        "polars Object column": (lambda: pl.DataFrame({"a": [object()]}, schema={"a": pl.Object}),
                                 r"column\(s\) \['a'\] hold Python objects.*Cast them"),
        "unsupported input type": (lambda: {"a": [1]}, r"unsupported input of type dict"),
        "missing file": (lambda: "/nonexistent/x.parquet", r"no file found at '/nonexistent/x.parquet'"),
    }
    first_position = {
        "fit_profile": lambda d: fit_profile(d),
        "drift": lambda d: check_drift(d, monitoring()),
        "check_skew": lambda d: check_skew(d, logs(), id="a"),
        "check_leakage": lambda d: check_leakage(d, entity="a", prediction_time="t"),
        "check_shadow": lambda d: check_shadow(d, logs(), id="a"),
        "performance": lambda d: check_performance(d, by=["a"], target="a"),
        "subgroups": lambda d: check_subgroups(d, by=["a"], target="a", prediction="a"),
        "calibration": lambda d: check_calibration(d, logs(), score="a", target="a"),
    }
    for check, run in first_position.items():
        for what, (make, error) in bad_frames.items():
            add(check, what, lambda run=run, make=make: run(make()), error)
    return out
