"""InputError for data, ConfigError for parameters: each check called with one bad parameter and one bad
data input raises the right type, with a message naming the parameter or the column."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import workbench
from workbench.errors import ConfigError, InputError

N = 400
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def logs(seed: int = 0) -> pl.DataFrame:
    """A small prediction log: request ids, times, a segment, a calibrated score, its class and the label."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, N)
    return pl.DataFrame({
        "request_id": np.arange(N), "ts": [T0 + dt.timedelta(minutes=i) for i in range(N)],
        "region": rng.choice(["us", "eu"], N), "score": p, "pred": (p >= 0.5).astype(np.int8),
        "y": (rng.uniform(0, 1, N) < p).astype(np.int8), "x": rng.normal(0, 1, N)})


def training() -> pl.DataFrame:
    """A small training set for the leakage audit: one row per customer and prediction time."""
    frame = logs()
    return frame.select(pl.col("request_id").alias("customer_id"), pl.col("ts").alias("prediction_time"),
                        pl.col("y").alias("churned"), "x")


CALLS = {
    "check_leakage": lambda **kw: workbench.check_leakage(
        training(), **({"entity": "customer_id", "prediction_time": "prediction_time", "target": "churned"} | kw)),
    "check_drift": lambda **kw: workbench.check_drift(logs(0), logs(1), **({"columns": ["x", "score"]} | kw)),
    "fit_profile": lambda **kw: workbench.fit_profile(logs(0), **kw),
    "check_skew": lambda **kw: workbench.check_skew(logs(0), logs(0), **({"id": "request_id"} | kw)),
    "check_shadow": lambda **kw: workbench.check_shadow(
        logs(0), logs(1), **({"id": "request_id", "prediction": "pred", "timestamp": "ts"} | kw)),
    "check_performance": lambda **kw: workbench.check_performance(
        logs(0), **({"target": "y", "by": "region", "prediction": "pred"} | kw)),
    "check_subgroups": lambda **kw: workbench.check_subgroups(
        logs(0), **({"target": "y", "by": "region", "prediction": "pred"} | kw)),
    "check_calibration": lambda **kw: workbench.check_calibration(
        logs(0), logs(1), **({"score": "score", "target": "y", "resamples": 50} | kw)),
    "check_llm": lambda **kw: workbench.check_llm(logs(0), **({"timestamp": "ts", "by": "region"} | kw)),
    "check_service": lambda **kw: workbench.check_service(
        logs(0).with_columns(status=pl.lit("ok")), **({"timestamp": "ts", "by": "region"} | kw)),
}

# (check, what is wrong, keyword arguments, error type, what the message must name)
CASES = [
    ("check_leakage", "parameter", {"proxy_auc": 0.3}, ConfigError, "'proxy_auc'"),
    ("check_leakage", "data", {"entity": "customer"}, InputError, "'customer'"),
    ("check_drift", "parameter", {"bins": 1}, ConfigError, "'bins'"),
    ("check_drift", "data", {"columns": ["scroe"]}, InputError, "'scroe'"),
    ("fit_profile", "parameter", {"max_categories": 0}, ConfigError, "'max_categories'"),
    ("fit_profile", "data", {"by": ["zone"]}, InputError, "'zone'"),
    ("check_skew", "parameter", {"rtol": -1.0}, ConfigError, "'rtol'"),
    ("check_skew", "data", {"id": "request"}, InputError, "'request'"),
    ("check_shadow", "parameter", {"fdr": 2.0}, ConfigError, "'fdr'"),
    ("check_shadow", "data", {"prediction": "predicted"}, InputError, "'predicted'"),
    ("check_performance", "parameter", {"min_support": 0}, ConfigError, "'min_support'"),
    ("check_performance", "data", {"by": "zone"}, InputError, "'zone'"),
    ("check_subgroups", "parameter", {"depth": 0}, ConfigError, "'depth'"),
    ("check_subgroups", "data", {"target": "label"}, InputError, "'label'"),
    ("check_calibration", "parameter", {"bins": 0}, ConfigError, "'bins'"),
    ("check_calibration", "data", {"score": "p"}, InputError, "'p'"),
    ("check_llm", "parameter", {"spike_factor": 0}, ConfigError, "'spike_factor'"),
    ("check_llm", "data", {"grounded": "judged"}, InputError, "'judged'"),
    ("check_service", "parameter", {"fdr": 2.0}, ConfigError, "'fdr'"),
    ("check_service", "data", {"by": "zone"}, InputError, "'zone'"),
]


@pytest.mark.parametrize(("check", "what", "kwargs", "error", "named"), CASES,
                         ids=[f"{c}-{w}" for c, w, *_ in CASES])
def test_a_bad_parameter_is_a_config_error_and_bad_data_an_input_error(check, what, kwargs, error, named):
    with pytest.raises(error) as raised:
        CALLS[check](**kwargs)
    assert type(raised.value) is error  # not a subclass standing for the other kind
    assert named in str(raised.value), str(raised.value)


def test_every_check_of_the_api_has_both_cases():
    checks = {name for name in workbench.__all__ if name.startswith("check_")} | {"fit_profile"}
    assert {(c, w) for c, w, *_ in CASES} == {(c, w) for c in checks for w in ("parameter", "data")}


@pytest.mark.parametrize("check", sorted(CALLS))
def test_the_valid_call_runs(check):
    # the cases above differ from a call that works by the one keyword they break
    assert CALLS[check]().check in {"leakage", "drift", "skew", "shadow", "performance", "calibration", "llm",
                                 "service"} \
        if check != "fit_profile" else CALLS[check]().rows == N
