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
  of AUC about 0.9 and 0.8 (predictive power alone is no evidence of a leak);
* service fallbacks: requests over 6 hours in four regions, 2% served with a fallback; in the last hour one
  region's share rises to 12%; trivial: to 2.2%.

``make`` also takes ``fdr``: the false-discovery rate to run the check at (None: the check's default), and
``cells(result)`` counts the cells the rule tested in one result (its denominator for false alarms per cell).
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
    make: Callable[..., Any]  # (rng, n, scenario, fdr) -> the check's result
    kinds: frozenset[str]
    cells: Callable[[Any], int]  # the cells (tests) the rule ran in one result

    def alarms(self, result: Any) -> int:
        """The rule's findings at warning or worse in ``result``."""
        return sum(f.kind in self.kinds for f in result.at_least("warning"))

    def alarmed(self, result: Any) -> bool:
        return self.alarms(result) > 0


def _fdr(fdr: float | None) -> dict[str, float]:
    """The keyword that sets a check's FDR level, or none for the check's default."""
    return {} if fdr is None else {"fdr": fdr}


def _tested(table: str, *columns: str) -> Callable[[Any], int]:
    """Cells tested in one result: the non-null values of ``columns`` (p- or q-values) of ``table``."""
    def count(result: Any) -> int:
        frame = result.tables[table]
        return sum(int(frame[c].is_not_null().sum()) for c in columns if c in frame.columns)
    return count


# -- drift --------------------------------------------------------------------------------------------
def _drift_numeric(rng: np.random.Generator, n: int, scenario: str, fdr: float | None = None) -> Any:
    from workbench.drift import DriftRule, check_drift

    shift = {"null": 0.0, "effect": 0.5, "trivial": 0.02}[scenario]
    ref = pl.DataFrame({"x": rng.normal(0, 1, n)})
    cur = pl.DataFrame({"x": rng.normal(shift, 1, n)})
    return check_drift(ref, cur, seed=int(rng.integers(1 << 30)), rule=DriftRule(**_fdr(fdr)))


SHARES = np.array([0.4, 0.3, 0.15, 0.1, 0.05])


def _drift_categorical(rng: np.random.Generator, n: int, scenario: str, fdr: float | None = None) -> Any:
    from workbench.drift import DriftRule, check_drift

    move = {"null": 0.0, "effect": 0.10, "trivial": 0.005}[scenario]
    cur_shares = SHARES.copy()
    cur_shares[3] += move  # a mid-sized category grows; the others shrink in proportion
    cur_shares[[0, 1, 2, 4]] *= (1 - cur_shares[3]) / cur_shares[[0, 1, 2, 4]].sum()
    cats = np.array(list("abcde"))
    ref = pl.DataFrame({"c": rng.choice(cats, n, p=SHARES)})
    cur = pl.DataFrame({"c": rng.choice(cats, n, p=cur_shares)})
    return check_drift(ref, cur, seed=int(rng.integers(1 << 30)), rule=DriftRule(**_fdr(fdr)))


# -- subgroups ----------------------------------------------------------------------------------------
def _subgroups(rng: np.random.Generator, n: int, scenario: str, fdr: float | None = None) -> Any:
    from workbench.performance import check_subgroups

    drop = {"null": 0.0, "effect": 0.15, "trivial": 0.01}[scenario]
    segment = rng.integers(0, 8, n)
    accuracy = np.where(segment == 3, 0.85 - drop, 0.85)
    label = rng.integers(0, 2, n)
    correct = rng.uniform(0, 1, n) < accuracy
    prediction = np.where(correct, label, 1 - label)
    frame = pl.DataFrame({"label": label, "prediction": prediction, "segment": segment.astype(str)})
    return check_subgroups(frame, target="label", prediction="prediction", by="segment", min_support=30,
                           **_fdr(fdr))


# -- calibration --------------------------------------------------------------------------------------
def _scores(rng: np.random.Generator, n: int, slope: float) -> pl.DataFrame:
    """Scores whose true log-odds are ``slope`` times the model's (slope < 1: overconfident)."""
    logit = rng.normal(0, 1.5, n)
    p = 1 / (1 + np.exp(-logit))
    truth = 1 / (1 + np.exp(-slope * logit))
    return pl.DataFrame({"score": p, "label": (rng.uniform(0, 1, n) < truth).astype(int)})


def _calibration(rng: np.random.Generator, n: int, scenario: str, fdr: float | None = None) -> Any:
    from workbench.performance import check_calibration

    slope = {"null": 1.0, "effect": 0.5, "trivial": 0.97}[scenario]
    return check_calibration(_scores(rng, n, 1.0), _scores(rng, n, slope), score="score", target="label",
                             resamples=100, seed=int(rng.integers(1 << 30)), min_support=50, **_fdr(fdr))


# -- shadow -------------------------------------------------------------------------------------------
def _shadow(rng: np.random.Generator, n: int, scenario: str, fdr: float | None = None) -> Any:
    from workbench.shadow import Guardrails, check_shadow

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
    return check_shadow(production, candidate, id="id", timestamp="ts", prediction="prediction", labels=labels,
                        guardrails=Guardrails(min_labelled=50, min_requests=50), **_fdr(fdr))


# -- leakage proxy ------------------------------------------------------------------------------------
def _proxy(rng: np.random.Generator, n: int, scenario: str, fdr: float | None = None) -> Any:
    del fdr  # the proxy rule has no FDR level (one test per feature)
    from workbench.leakage import check_leakage

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    target = rng.integers(0, 2, n)
    if scenario == "effect":
        feature = np.where(rng.uniform(0, 1, n) < 0.03, 1 - target, target) + rng.normal(0, 0.01, n)
    else:  # an honest feature, strongly predictive: AUC about 0.9 ("null") or 0.8 ("trivial")
        feature = target * (1.8 if scenario == "null" else 1.2) + rng.normal(0, 1, n)
    frame = pl.DataFrame({"id": np.arange(n), "pt": pl.datetime_range(t0, t0 + dt.timedelta(minutes=n - 1), "1m",
                                                                      eager=True, time_zone="UTC"),
                          "y": target, "f": feature})
    return check_leakage(frame, entity="id", prediction_time="pt", target="y")


def _service_fallbacks(rng: np.random.Generator, n: int, scenario: str, fdr: float | None = None) -> Any:
    from workbench.service import check_service

    seconds = np.sort(rng.uniform(0, 6 * 3600, n))
    region = rng.choice(["r0", "r1", "r2", "r3"], n)
    hot = (region == "r3") & (seconds >= 5 * 3600)
    share = np.where(hot, {"null": 0.02, "effect": 0.12, "trivial": 0.022}[scenario], 0.02)
    fallback = rng.random(n) < share
    start = int(dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp() * 1e6)
    log = pl.DataFrame({"request_id": np.arange(n).astype(str), "status": "ok", "region": region,
                        "fallback": fallback}).with_columns(
        timestamp=pl.from_epoch(pl.Series((seconds * 1e6).astype(np.int64) + start), time_unit="us")
        .dt.replace_time_zone("UTC"),
        dependency=pl.when(pl.col("fallback")).then(pl.lit("cache")))
    return check_service(log, by="region", **_fdr(fdr))


RULES: dict[str, Rule] = {
    "drift numeric": Rule("drift numeric", _drift_numeric, frozenset({"distribution_drift"}),
                          _tested("tests", "p_value")),
    "drift categorical": Rule("drift categorical", _drift_categorical, frozenset({"distribution_drift"}),
                              _tested("tests", "p_value")),
    "subgroups": Rule("subgroups", _subgroups, frozenset({"segment_disparity"}), _tested("segments", "q_value")),
    "calibration": Rule("calibration", _calibration, frozenset({"calibration_drift", "overconfident",
                                                                "underconfident"}),
                        _tested("calibration", "hl_q", "slope_q")),
    "shadow": Rule("shadow", _shadow, frozenset({"accuracy_regression"}), _tested("accuracy", "p_value")),
    "leakage proxy": Rule("leakage proxy", _proxy, frozenset({"target_proxy"}), _tested("proxy", "auc")),
    "service fallbacks": Rule("service fallbacks", _service_fallbacks, frozenset({"fallback_rate_increase"}),
                              lambda result: int(result.tables["fallbacks"]["tested"].sum())),
}


def alarm_rate(rule: Rule, n: int, scenario: str, replicates: int, *, seed: int = 0) -> tuple[int, int]:
    """(alarms, replicates) of ``rule`` at ``n`` rows under ``scenario``, at the check's default FDR."""
    counts = alarm_counts(rule, n, scenario, replicates, seed=seed)
    return counts.runs_alarmed, counts.runs


@dataclass(frozen=True)
class AlarmCounts:
    """Of ``runs`` seeded draws: how many raised an alarm, and the alarm findings over the cells tested."""

    runs: int
    runs_alarmed: int
    findings: int
    cells: int


def alarm_counts(rule: Rule, n: int, scenario: str, replicates: int, *, seed: int = 0,
                 fdr: float | None = None) -> AlarmCounts:
    """``rule`` at ``n`` rows under ``scenario``, ``replicates`` times, at ``fdr`` (None: the check's default)."""
    alarmed = findings = cells = 0
    for r in range(replicates):
        rng = np.random.default_rng([seed, n, SCENARIOS.index(scenario), r, len(rule.name)])
        result = rule.make(rng, n, scenario, fdr)
        found = rule.alarms(result)
        alarmed, findings, cells = alarmed + (found > 0), findings + found, cells + rule.cells(result)
    return AlarmCounts(replicates, alarmed, findings, cells)
