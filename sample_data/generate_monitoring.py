"""Deterministic generator of the monitoring sample (drift and schema evolution).

Run ``python sample_data/generate_monitoring.py`` to rewrite ``sample_data/monitoring/``:

* ``reference.parquet``: 20,000 scored requests from the training period;
* ``current/date=YYYY-MM-DD/part-0.parquet``: seven daily partitions of 3,000 requests each,
  whose schema evolves (``discount_rate`` renamed ``discount_pct`` from day 3, ``n_items``
  written as strings from day 5);
* ``training_features.parquet``: the training pipeline's rebuild of the first two days'
  requests (training/serving skew on ``sessions_7d``);
* ``planted.json``: what was planted, for the tests and the walkthrough.

Planted changes (graded): ``sessions_7d`` +0.03 sd every day (trivial: must not alert);
``basket_value`` +0.35 sd from day 4 (moderate); ``latency_ms`` x2 every day (large); a new
``country`` "BR" on 10% of requests from day 6; ``referrer`` missing on 30% of requests from
day 6 (2% before). The score (a function of basket, latency and sessions) drifts with latency,
and so does the label's positive rate. Heavy-tailed (``claims``), zero-inflated (``tenure_months``),
integer-valued (``age``, ``n_items``) and high-cardinality (``merchant``, 3,000 values)
columns are unchanged and must not alert.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261125
OUT = Path(__file__).parent / "monitoring"
REF_ROWS = 20_000
DAY_ROWS = 3_000
DAYS = 7
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
COUNTRIES = ["US", "DE", "FR", "GB", "ES", "IT", "NL"]
COUNTRY_P = [0.35, 0.2, 0.15, 0.12, 0.08, 0.06, 0.04]
DEVICES = ["mobile", "desktop", "tablet"]
REFERRERS = ["search", "email", "social", "direct"]


def _frame(rng: np.random.Generator, n: int, start: dt.datetime, span: dt.timedelta, day: int | None) -> pl.DataFrame:
    """``day`` is None for the reference, else 1..7 for the current partitions."""
    current = day is not None
    d = day or 0
    merchants = np.array([f"m{i:04d}" for i in range(3000)])
    merchant_p = 1 / np.arange(1, 3001) ** 0.6
    merchant_p /= merchant_p.sum()
    country = rng.choice(COUNTRIES, n, p=COUNTRY_P).astype(object)
    if current and d >= 6:
        country[rng.random(n) < 0.10] = "BR"
    referrer = rng.choice(REFERRERS, n).astype(object)
    referrer[rng.random(n) < (0.30 if current and d >= 6 else 0.02)] = None
    basket = rng.normal(60.0, 20.0, n) + (0.35 * 20.0 if current and d >= 4 else 0.0)
    latency = rng.gamma(4.0, 30.0, n) * (2.0 if current else 1.0)
    sessions = rng.normal(12.0, 4.0, n) + (0.03 * 4.0 if current else 0.0)
    tenure = np.where(rng.random(n) < 0.6, 0, rng.geometric(0.05, n))
    claims = (rng.pareto(1.5, n) + 1) * 100.0
    discount = np.round(rng.beta(2, 8, n), 3)
    n_items = rng.poisson(3.0, n) + 1
    logit = -2.2 + 0.02 * (basket - 60) + 0.004 * (latency - 120) - 0.05 * (sessions - 12)
    score = 1 / (1 + np.exp(-logit))
    label = rng.random(n) < score
    seconds = rng.uniform(0, span.total_seconds(), n)
    ts = [start + dt.timedelta(seconds=float(s)) for s in np.sort(seconds)]
    cols: dict[str, object] = {
        "request_id": [f"{'c' if current else 'r'}{d}-{i:06d}" for i in range(n)],
        "ts": pl.Series(ts, dtype=pl.Datetime("us", "UTC")),
        "age": rng.integers(18, 80, n),
        "country": country.astype(str),
        "device": rng.choice(DEVICES, n, p=[0.6, 0.3, 0.1]),
        "referrer": pl.Series(list(referrer), dtype=pl.String),
        "merchant": rng.choice(merchants, n, p=merchant_p),
        "basket_value": basket,
        "latency_ms": latency,
        "sessions_7d": sessions,
        "tenure_months": tenure,
        "claims": claims,
        "score": score,
        "label": label.astype(np.int8),
    }
    discount_name = "discount_pct" if current and d >= 3 else "discount_rate"
    cols[discount_name] = discount
    cols["n_items"] = n_items.astype(str) if current and d >= 5 else n_items
    return pl.DataFrame(cols)


def _training_features(rng: np.random.Generator, served: list[pl.DataFrame]) -> pl.DataFrame:
    """The training pipeline's rebuild of the first two days' requests: the same values except
    ``sessions_7d`` (a window-boundary bug adds one session on 12% of requests) and ``claims``
    (recomputed in another order: differences of 1e-13, which must not count). 40 served
    requests are missing from the rebuild."""
    df = pl.concat([d.select("request_id", "age", "basket_value", "sessions_7d", "claims", "country")
                    for d in served])
    bug = rng.random(df.height) < 0.12
    df = df.with_columns(
        sessions_7d=pl.col("sessions_7d") + pl.Series(bug.astype(float)),
        claims=pl.col("claims") * (1 + 1e-13),
    )
    return df.head(df.height - 40)


def generate() -> dict:
    rng = np.random.default_rng(SEED)
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "current").mkdir(parents=True)
    ref = _frame(rng, REF_ROWS, START - dt.timedelta(days=60), dt.timedelta(days=56), None)
    ref.write_parquet(OUT / "reference.parquet")
    for day in range(1, DAYS + 1):
        start = START + dt.timedelta(days=day - 1)
        part = _frame(rng, DAY_ROWS, start, dt.timedelta(days=1), day)
        folder = OUT / "current" / f"date={start:%Y-%m-%d}"
        folder.mkdir()
        part.write_parquet(folder / "part-0.parquet")
    skew = _training_features(rng, [pl.read_parquet(p) for p in sorted((OUT / "current").glob("*/part-0.parquet"))[:2]])
    skew.write_parquet(OUT / "training_features.parquet")
    planted = {
        "alerts": {
            "latency_ms": "distribution_drift",
            "basket_value": "distribution_drift",
            "country": "new_category",
            "referrer": "missing_rate_change",
            "score": "prediction_drift",
        },
        "quiet": ["sessions_7d", "age", "device", "merchant", "tenure_months", "claims", "n_items", "discount_pct"],
        "follows": {"score": "rises with latency_ms (the model uses it)",
                    "label": "positive rate rises with latency_ms (10% -> 18%)"},
        "windows": {"basket_value": "from day 4 (2026-03-04)", "country": "from day 6 (2026-03-06)",
                    "referrer": "from day 6 (2026-03-06)"},
        "schema": {"renamed": {"discount_pct": "discount_rate"}, "type_changed": ["n_items"]},
        "rows": {"reference": REF_ROWS, "current": DAY_ROWS * DAYS},
        "skew": {"id": "request_id", "skewed": {"sessions_7d": 0.12}, "float_noise_only": ["claims"],
                 "serving_only": 40},
    }
    (OUT / "planted.json").write_text(json.dumps(planted, indent=2) + "\n")
    return planted


if __name__ == "__main__":
    print(json.dumps(generate(), indent=2))
