"""Simulation of every alarm rule: how often it alarms when nothing changed (false-alarm rate), when something
worth an alert changed (power), and when a change too small to matter happened (trivial-shift alarm rate).

Each rule has a generator ``make(rng, n, scenario)`` with ``scenario`` in ``"null"``, ``"effect"``, ``"trivial"``
and a detector ``alarmed(result) -> bool`` (a finding of the rule's kinds at warning or worse). ``n`` is the
number of rows of each side (drift: reference and current; shadow: requests; leakage: training rows).
The effects are the ones docs/alarm-rates.md promises to catch:

* drift (numeric): a shift of half a standard deviation; trivial: 0.02 standard deviations;
* drift (categorical): one category's share up 10 points; trivial: up 0.5 points;
* subgroups: one segment of eight loses 15 points of accuracy; trivial: 1 point;
* calibration: the current model becomes overconfident (logit slope 0.5); trivial: slope 0.97;
* shadow: the candidate is 8 points less accurate; trivial: 0.3 points;
* leakage proxy: an undeclared feature equal to the target with 3% noise; null and trivial: honest features
  of AUC about 0.9 and 0.8 (predictive power alone is no evidence of a leak).

Run by ``bench/simulate_alarms.py`` (n up to 1M, many replicates) and, small, by ``tests/test_alarm_rules.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

SCENARIOS = ("null", "effect", "trivial")


@dataclass(frozen=True)
class Rule:
    name: str
    make: Callable[[np.random.Generator, int, str], Any]  # -> the check's result
    kinds: frozenset[str]

    def alarmed(self, result: Any) -> bool:
        return any(f.kind in self.kinds for f in result.at_least("warning"))


# -- drift --------------------------------------------------------------------------------------------
def _drift_numeric(rng: np.random.Generator, n: int, scenario: str) -> Any:
    from workbench.drift import drift

    shift = {"null": 0.0, "effect": 0.5, "trivial": 0.02}[scenario]
    ref = pl.DataFrame({"x": rng.normal(0, 1, n)})
    cur = pl.DataFrame({"x": rng.normal(shift, 1, n)})
    return drift(ref, cur, seed=int(rng.integers(1 << 30)))


SHARES = np.array([0.4, 0.3, 0.15, 0.1, 0.05])


def _drift_categorical(rng: np.random.Generator, n: int, scenario: str) -> Any:
    from workbench.drift import drift

    move = {"null": 0.0, "effect": 0.10, "trivial": 0.005}[scenario]
    cur_shares = SHARES.copy()
    cur_shares[3] += move  # a mid-sized category grows; the others shrink in proportion
    cur_shares[[0, 1, 2, 4]] *= (1 - cur_shares[3]) / cur_shares[[0, 1, 2, 4]].sum()
    cats = np.array(list("abcde"))
    ref = pl.DataFrame({"c": rng.choice(cats, n, p=SHARES)})
    cur = pl.DataFrame({"c": rng.choice(cats, n, p=cur_shares)})
    return drift(ref, cur, seed=int(rng.integers(1 << 30)))


# -- subgroups ----------------------------------------------------------------------------------------
def _subgroups(rng: np.random.Generator, n: int, scenario: str) -> Any:
    from workbench.performance import subgroups

    drop = {"null": 0.0, "effect": 0.15, "trivial": 0.01}[scenario]
    segment = rng.integers(0, 8, n)
    accuracy = np.where(segment == 3, 0.85 - drop, 0.85)
    label = rng.integers(0, 2, n)
    correct = rng.uniform(0, 1, n) < accuracy
    prediction = np.where(correct, label, 1 - label)
    frame = pl.DataFrame({"label": label, "prediction": prediction, "segment": segment.astype(str)})
    return subgroups(frame, target="label", prediction="prediction", by="segment", min_support=30)


# -- calibration --------------------------------------------------------------------------------------
def _scores(rng: np.random.Generator, n: int, slope: float) -> pl.DataFrame:
    """Scores whose true log-odds are ``slope`` times the model's (slope < 1: overconfident)."""
    logit = rng.normal(0, 1.5, n)
    p = 1 / (1 + np.exp(-logit))
    truth = 1 / (1 + np.exp(-slope * logit))
    return pl.DataFrame({"score": p, "label": (rng.uniform(0, 1, n) < truth).astype(int)})


def _calibration(rng: np.random.Generator, n: int, scenario: str) -> Any:
    from workbench.performance import calibration

    slope = {"null": 1.0, "effect": 0.5, "trivial": 0.97}[scenario]
    return calibration(_scores(rng, n, 1.0), _scores(rng, n, slope), score="score", target="label",
                       resamples=100, seed=int(rng.integers(1 << 30)), min_rows=50)


# -- shadow -------------------------------------------------------------------------------------------
def _shadow(rng: np.random.Generator, n: int, scenario: str) -> Any:
    from workbench.shadow import Guardrails, compare_logs

    drop = {"null": 0.0, "effect": 0.08, "trivial": 0.003}[scenario]
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    label = rng.integers(0, 2, n)
    # two models of the same accuracy (0.85) whose errors are independent; the candidate loses `drop`
    prod = np.where(rng.uniform(0, 1, n) < 0.85, label, 1 - label)
    cand = np.where(rng.uniform(0, 1, n) < 0.85 - drop, label, 1 - label)
    ids = np.arange(n)
    ts = pl.datetime_range(t0, t0 + dt.timedelta(seconds=n - 1), "1s", eager=True, time_zone="UTC")
    production = pl.DataFrame({"id": ids, "ts": ts, "prediction": prod})
    candidate = pl.DataFrame({"id": ids, "ts": ts, "prediction": cand})
    labels = pl.DataFrame({"id": ids, "label": label})
    return compare_logs(production, candidate, id="id", timestamp="ts", prediction="prediction", labels=labels,
                        guardrails=Guardrails(min_labelled=50, min_requests=50))


# -- leakage proxy ------------------------------------------------------------------------------------
def _proxy(rng: np.random.Generator, n: int, scenario: str) -> Any:
    from workbench.leakage import audit_leakage

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    target = rng.integers(0, 2, n)
    if scenario == "effect":
        feature = np.where(rng.uniform(0, 1, n) < 0.03, 1 - target, target) + rng.normal(0, 0.01, n)
    else:  # an honest feature, strongly predictive: AUC about 0.9 ("null") or 0.8 ("trivial")
        feature = target * (1.8 if scenario == "null" else 1.2) + rng.normal(0, 1, n)
    frame = pl.DataFrame({"id": np.arange(n), "pt": pl.datetime_range(t0, t0 + dt.timedelta(minutes=n - 1), "1m",
                                                                      eager=True, time_zone="UTC"),
                          "y": target, "f": feature})
    return audit_leakage(frame, entity="id", prediction_time="pt", target="y")


RULES: dict[str, Rule] = {
    "drift numeric": Rule("drift numeric", _drift_numeric, frozenset({"distribution_drift"})),
    "drift categorical": Rule("drift categorical", _drift_categorical, frozenset({"distribution_drift"})),
    "subgroups": Rule("subgroups", _subgroups, frozenset({"segment_disparity"})),
    "calibration": Rule("calibration", _calibration, frozenset({"calibration_drift", "overconfident",
                                                                "underconfident"})),
    "shadow": Rule("shadow", _shadow, frozenset({"accuracy_regression"})),
    "leakage proxy": Rule("leakage proxy", _proxy, frozenset({"target_proxy"})),
}


def alarm_rate(rule: Rule, n: int, scenario: str, replicates: int, *, seed: int = 0) -> tuple[int, int]:
    """(alarms, replicates) of ``rule`` at ``n`` rows under ``scenario``."""
    alarms = 0
    for r in range(replicates):
        rng = np.random.default_rng([seed, n, SCENARIOS.index(scenario), r, len(rule.name)])
        alarms += rule.alarmed(rule.make(rng, n, scenario))
    return alarms, replicates
