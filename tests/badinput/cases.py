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

from workbench.drift import DriftRule, drift, fit_profile, training_serving_skew
from workbench.leakage import Source, asof, audit_leakage, make_rule, window
from workbench.performance import calibration, performance, subgroups
from workbench.shadow import Guardrails, compare_logs

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
    return audit_leakage(training() if training_frame is None else training_frame, **args)


def shadow(prod=None, cand=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(id="request_id", timestamp="ts", prediction="prediction", score="score", latency="latency_ms",
                error="error", by="region")
    args.update(kw)
    return compare_logs(logs().drop("label") if prod is None else prod,
                        logs().drop("label") if cand is None else cand, **args)


def perf(pred=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(by="region", target="label", prediction="prediction", score="score", timestamp="ts")
    args.update(kw)
    return performance(logs() if pred is None else pred, **args)


def subg(data=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(by="region", target="label", prediction="prediction", score="score")
    args.update(kw)
    return subgroups(logs() if data is None else data, **args)


def calib(ref=None, cur=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(score="score", target="label")
    args.update(kw)
    return calibration(logs() if ref is None else ref, logs() if cur is None else cur, **args)


def drft(ref=None, cur=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(timestamp="ts")
    args.update(kw)
    return drift(monitoring() if ref is None else ref, monitoring() if cur is None else cur, **args)


def skew(tr=None, sv=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(id="request_id")
    args.update(kw)
    return training_serving_skew(logs() if tr is None else tr, logs() if sv is None else sv, **args)


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
    "audit_leakage": leak, "compare_logs": shadow, "performance": perf, "subgroups": subg,
    "calibration": calib, "drift": drft,
}


def cases() -> list[Case]:
    out: list[Case] = []

    def add(check: str, what: str, call: Callable[[], object], error: str) -> None:
        out.append(Case(check, what, call, error=error))

    def reported(check: str, what: str, call: Callable[[], object], finding: str) -> None:
        out.append(Case(check, what, call, finding=finding))

    # ---- leakage -----------------------------------------------------------------------------
    add("audit_leakage", "misspelled entity", lambda: leak(entity="customer"), r"customer.*customer_id")
    add("audit_leakage", "misspelled target", lambda: leak(target="churn"), r"churn.*churned")
    add("audit_leakage", "misspelled split", lambda: leak(split="splt"), r"splt.*split")
    add("audit_leakage", "prediction time as text", lambda: leak(_as_str(training(), "prediction_time")),
        r"prediction_time")
    add("audit_leakage", "naive prediction time, aware source", lambda: leak(_naive(training(), "prediction_time")),
        r"(naive|time zone)")
    add("audit_leakage", "null entity", lambda: leak(_null_first(training(), "customer_id")), r"customer_id.*null")
    add("audit_leakage", "null prediction time", lambda: leak(_null_first(training(), "prediction_time")),
        r"prediction_time.*null")
    add("audit_leakage", "empty training", lambda: leak(training().head(0)), r"(empty|no rows)")
    add("audit_leakage", "features given as a list", lambda: leak(features=["spend"]), r"features.*(mapping|dict)")
    add("audit_leakage", "sources given as a list", lambda: leak(sources=["tx"]), r"sources.*(mapping|dict)")
    add("audit_leakage", "feature on an unknown source",
        lambda: leak(features={"spend": window("txn", "amount")}), r"txn.*tx")
    add("audit_leakage", "feature column missing from training",
        lambda: leak(features={"spnd": window("tx", "amount")}), r"spnd.*spend")
    add("audit_leakage", "source column missing",
        lambda: leak(features={"spend": window("tx", "amt")}), r"amt.*amount")
    add("audit_leakage", "proxy_auc above 1", lambda: leak(proxy_auc=1.5), r"proxy_auc")
    add("audit_leakage", "proxy_auc as text", lambda: leak(proxy_auc="high"), r"proxy_auc")
    add("audit_leakage", "max_examples negative", lambda: leak(max_examples=-1), r"max_examples")
    add("audit_leakage", "rule given as a dict", lambda: leak(rule={"inclusive": True}), r"rule.*make_rule")
    add("audit_leakage", "window of zero", lambda: window("tx", "amount", window="0s"), r"'window'.*greater than zero")
    add("audit_leakage", "negative ttl", lambda: asof("tx", "amount", ttl=dt.timedelta(hours=-1)),
        r"'ttl'.*greater than zero")
    add("audit_leakage", "inclusive not a boolean", lambda: make_rule(inclusive="maybe"), r"'inclusive'.*true or false")
    add("audit_leakage", "source event time as text",
        lambda: leak(sources={"tx": Source(_as_str(events(), "event_time"), entity="customer_id",
                                           time="event_time", available_time="ingested_at")}), r"event_time")
    add("audit_leakage", "source entity type differs",
        lambda: leak(sources={"tx": Source(_as_str(events(), "customer_id"), entity="customer_id",
                                           time="event_time", available_time="ingested_at")}), r"customer_id")
    reported("audit_leakage", "target with three classes",
             lambda: leak(training().with_columns(churned=pl.col("churned") + (pl.int_range(pl.len()) % 3 == 0))),
             "check_skipped")

    # ---- drift ---------------------------------------------------------------------------------
    add("drift", "misspelled timestamp", lambda: drft(timestamp="tss"), r"tss.*ts")
    add("drift", "misspelled by", lambda: drft(by="cc"), r"cc")
    add("drift", "misspelled column", lambda: drft(columns=["xx"]), r"xx")
    add("drift", "window of zero", lambda: drft(window=dt.timedelta(0)), r"'window'.*greater than zero")
    add("drift", "negative window", lambda: drft(window="-1h"), r"'window'.*greater than zero")
    add("drift", "window without timestamp", lambda: drft(timestamp=None, window="1h"), r"window needs timestamp")
    add("drift", "n_bins zero", lambda: drft(n_bins=0), r"n_bins")
    add("drift", "max_categories zero", lambda: drft(max_categories=0), r"max_categories")
    add("drift", "multivariate not a boolean", lambda: drft(multivariate="yes"), r"multivariate")
    reported("drift", "empty current", lambda: drft(cur=monitoring().head(0)), "insufficient_data")
    add("drift", "empty reference", lambda: drft(ref=monitoring().head(0)), r"(empty|no rows)")
    add("drift", "timestamp as text", lambda: drft(cur=_as_str(monitoring(), "ts")), r"ts")
    add("drift", "rule confidence above 1", lambda: DriftRule(confidence=1.5), r"confidence")
    add("drift", "rule fdr of zero", lambda: DriftRule(fdr=0.0), r"fdr")
    add("drift", "exclude with a misspelt column", lambda: drft(exclude="tss"), r"exclude=\[.tss.\].*Did you mean .ts.")
    add("fit_profile", "misspelled column", lambda: profile(columns=["xx"]), r"xx")
    add("fit_profile", "empty reference", lambda: profile(monitoring().head(0)), r"(empty|no rows)")
    add("fit_profile", "misspelled by", lambda: profile(by=["cc"]), r"cc")
    add("training_serving_skew", "misspelled id", lambda: skew(id="request"), r"request.*request_id")
    add("training_serving_skew", "duplicate ids", lambda: skew(tr=_dup_first(logs())),
        r"request_id.*(duplicate|unique)")
    add("training_serving_skew", "null ids", lambda: skew(tr=_null_first(logs(), "request_id")), r"null 'request_id'")
    add("training_serving_skew", "id types differ", lambda: skew(tr=_as_str(logs(), "request_id")), r"request_id")
    reported("training_serving_skew", "one matched request", lambda: skew(tr=logs().head(1), sv=logs().head(1)),
             "insufficient_data")
    add("training_serving_skew", "misspelled column", lambda: skew(columns=["scor"]), r"scor.*score")

    # ---- shadow --------------------------------------------------------------------------------
    add("compare_logs", "misspelled id", lambda: shadow(id="request"), r"request.*request_id")
    add("compare_logs", "misspelled by", lambda: shadow(by="regoin"), r"regoin.*region")
    add("compare_logs", "score above 1",
        lambda: shadow(cand=logs().drop("label").with_columns(score=pl.col("score") * 2)), r"score.*\[0, 1\]")
    reported("compare_logs", "null ids", lambda: shadow(prod=_null_first(logs().drop("label"), "request_id")),
             "duplicate_requests")
    add("compare_logs", "id types differ", lambda: shadow(cand=_as_str(logs().drop("label"), "request_id")),
        r"request_id")
    add("compare_logs", "latency as text", lambda: shadow(cand=_as_str(logs().drop("label"), "latency_ms")),
        r"latency_ms")
    add("compare_logs", "negative latency",
        lambda: shadow(cand=logs().drop("label").with_columns(latency_ms=-pl.col("latency_ms"))), r"latency_ms")
    add("compare_logs", "naive vs aware timestamps", lambda: shadow(cand=_naive(logs().drop("label"), "ts")), r"ts")
    reported("compare_logs", "empty candidate", lambda: shadow(cand=logs().drop("label").head(0)), "coverage_gap")
    add("compare_logs", "confidence above 1", lambda: shadow(confidence=1.5), r"confidence")
    add("compare_logs", "fdr of zero", lambda: shadow(fdr=0), r"fdr")
    add("compare_logs", "unknown mode", lambda: shadow(mode="blue-green"), r"mode.*(shadow|canary)")
    add("compare_logs", "unknown task", lambda: shadow(task="ranking"), r"task")
    add("compare_logs", "stage above 1", lambda: shadow(stage=1.5), r"stage")
    add("compare_logs", "stages decreasing", lambda: shadow(stages=[0.5, 0.1]), r"stages")
    add("compare_logs", "as_of not a time", lambda: shadow(labels=labels(), label_time="label_time", as_of="soon"),
        r"as_of")
    add("compare_logs", "as_of without label_time", lambda: shadow(labels=labels(), as_of=T0), r"label_time")
    add("compare_logs", "labels {0, 2}",
        lambda: shadow(labels=labels().with_columns(label=pl.col("label") * 2)), r"label.*\b2\b")
    add("compare_logs", "labels misspelled id", lambda: shadow(labels=labels().rename({"request_id": "rid"})),
        r"request_id")
    add("compare_logs", "guardrail latency ratio zero", lambda: Guardrails(latency_ratio=0), r"latency_ratio")
    add("compare_logs", "guardrail min_requests zero", lambda: Guardrails(min_requests=0), r"min_requests")

    # ---- performance -----------------------------------------------------------------------------
    add("performance", "misspelled by", lambda: perf(by="regoin"), r"regoin.*region")
    add("performance", "misspelled target", lambda: perf(target="lable"), r"lable.*label")
    add("performance", "threshold above 1", lambda: perf(prediction=None, threshold=2.0), r"threshold")
    add("performance", "confidence of 1", lambda: perf(confidence=1.0), r"confidence")
    add("performance", "fdr above 1", lambda: perf(fdr=2), r"fdr")
    add("performance", "depth zero", lambda: perf(depth=0), r"depth")
    add("performance", "min_support zero", lambda: perf(min_support=0), r"min_support")
    add("performance", "window of zero", lambda: perf(window="0s"), r"'window'.*greater than zero")
    add("performance", "score above 1", lambda: perf(logs().with_columns(score=pl.col("score") + 1)), r"score")
    add("performance", "labels {0, 2}", lambda: perf(logs().with_columns(label=pl.col("label") * 2)), r"label")
    add("performance", "empty predictions", lambda: perf(logs().head(0)), r"predictions: the input is empty")
    add("performance", "as_of not a time",
        lambda: perf(logs().drop("label"), target=None, labels=labels(), id="request_id", label_time="label_time",
                     as_of=12), r"as_of")
    add("performance", "labels duplicate ids",
        lambda: perf(logs().drop("label"), target=None, labels=_dup_first(labels()), id="request_id"),
        r"duplicate values of 'request_id'")
    add("performance", "timestamp as text", lambda: perf(_as_str(logs(), "ts")), r"ts")
    add("subgroups", "misspelled by", lambda: subg(by="regoin"), r"regoin.*region")
    add("subgroups", "threshold of 0", lambda: subg(prediction=None, threshold=0.0), r"threshold")
    add("subgroups", "unknown task", lambda: subg(task="ranking"), r"task")
    add("subgroups", "auc not a boolean", lambda: subg(auc="yes"), r"auc")
    add("subgroups", "window of zero", lambda: subg(timestamp="ts", window=dt.timedelta(0)),
        r"'window'.*greater than zero")
    add("subgroups", "labels {0, 2}", lambda: subg(logs().with_columns(label=pl.col("label") * 2)), r"label")
    add("calibration", "bins zero", lambda: calib(bins=0), r"bins")
    add("calibration", "score above 1", lambda: calib(cur=logs().with_columns(score=pl.col("score") * 3)), r"score")
    add("calibration", "confidence 0", lambda: calib(confidence=0), r"confidence")
    add("calibration", "window of zero", lambda: calib(timestamp="ts", window="0s"), r"'window'.*greater than zero")
    add("calibration", "misspelled score", lambda: calib(score="scroe"), r"scroe.*score")
    add("calibration", "labels {0, 2}", lambda: calib(cur=logs().with_columns(label=pl.col("label") * 2)), r"label")

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
        "drift": lambda d: drift(d, monitoring()),
        "training_serving_skew": lambda d: training_serving_skew(d, logs(), id="a"),
        "audit_leakage": lambda d: audit_leakage(d, entity="a", prediction_time="t"),
        "compare_logs": lambda d: compare_logs(d, logs(), id="a"),
        "performance": lambda d: performance(d, by=["a"], target="a"),
        "subgroups": lambda d: subgroups(d, by=["a"], target="a", prediction="a"),
        "calibration": lambda d: calibration(d, logs(), score="a", target="a"),
    }
    for check, run in first_position.items():
        for what, (make, error) in bad_frames.items():
            add(check, what, lambda run=run, make=make: run(make()), error)
    return out
