"""Deterministic generator of the churn sample scenario (see sample_data/README.md).

Run ``python sample_data/generate.py`` to rewrite ``sample_data/churn/``. The point-in-time
correct and the carelessly built values are computed here with plain numpy, independently
of the auditor, and the planted ground truth is written to ``planted.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261124
N_CUSTOMERS = 3000
DAY = 86400.0
YEAR = 365 * DAY
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
REGIONS = np.array(["north", "south", "east", "west", "central"])
PLANS = np.array(["basic", "plus", "pro"])
STALE_AFTER_TTL = 14 * DAY
OUT = Path(__file__).parent / "churn"


def _lateness(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ingestion delay in seconds: mostly minutes, some hours, a long tail of days."""
    kind = rng.random(n)
    fast = rng.exponential(600, n)
    hours = rng.lognormal(np.log(3 * 3600), 0.8, n)
    days = rng.lognormal(np.log(2 * DAY), 0.9, n)
    return np.where(kind < 0.85, fast, np.where(kind < 0.97, hours, days))


def _poisson_times(rng: np.random.Generator, rate_per_day: float, end: float, slow_from: float,
                   slow_factor: float) -> np.ndarray:
    """Event times in [0, end) with a rate that changes by ``slow_factor`` from ``slow_from`` on."""
    peak = rate_per_day * max(1.0, slow_factor) / DAY
    n = rng.poisson(peak * end)
    t = np.sort(rng.uniform(0, end, n))
    keep = rng.random(n) < np.where(t >= slow_from, slow_factor, 1.0) / max(1.0, slow_factor)
    return t[keep]


def generate() -> dict:
    rng = np.random.default_rng(SEED)
    region = rng.integers(0, len(REGIONS), N_CUSTOMERS)
    plan = rng.integers(0, len(PLANS), N_CUSTOMERS)
    risk = rng.normal(size=N_CUSTOMERS) + np.array([0.0, 0.3, -0.2, 0.1, 0.0])[region] + np.array([0.3, 0, -0.4])[plan]
    churns = rng.random(N_CUSTOMERS) < 1 / (1 + np.exp(-(-0.9 + 1.1 * risk)))
    churn_t = np.where(churns, rng.uniform(75 * DAY, YEAR - 10 * DAY, N_CUSTOMERS), np.inf)
    stale_from = np.where(rng.random(N_CUSTOMERS) < 0.08, rng.uniform(120 * DAY, 240 * DAY, N_CUSTOMERS), np.inf)

    tx_rows, snap_rows, label_rows = [], [], []
    for c in range(N_CUSTOMERS):
        cid = c + 1
        active_end = min(churn_t[c], YEAR)
        rate = float(np.exp(rng.normal(np.log(0.15), 0.5)))
        e = _poisson_times(rng, rate, active_end, churn_t[c] - 45 * DAY, 0.3)
        a = e + _lateness(rng, e.size)
        x = np.round(rng.lognormal(3.5, 0.8, e.size), 2)
        tickets = _poisson_times(rng, 0.012, YEAR, churn_t[c] - 45 * DAY, 6.0)
        snap_t = np.arange(0, min(YEAR, stale_from[c]), 7 * DAY)
        snap_w = snap_t + 3600 + rng.uniform(0, 3 * 3600, snap_t.size)
        snap_tickets = np.searchsorted(tickets, snap_t, side="left")
        balance = np.round(np.cumsum(rng.normal(0, 25, snap_t.size)) + 100, 2)
        tx_rows.append((np.full(e.size, cid), e, a, x))
        snap_rows.append((np.full(snap_t.size, cid), snap_t, snap_w, snap_tickets, balance))

        # prediction times: a few at random while active, and for churners often one in the month before
        k = 1 + min(rng.poisson(1.5), 3)
        pts = list(rng.uniform(60 * DAY, min(active_end, 335 * DAY), k))
        if churns[c] and rng.random() < 0.7:
            pts.append(churn_t[c] - rng.uniform(1 * DAY, 29 * DAY))
        for pt in sorted(p for p in pts if p < active_end):
            label = bool(pt < churn_t[c] <= pt + 30 * DAY)
            avail_before = a < pt  # the point-in-time rule: available strictly before the prediction
            in90 = e >= pt - 90 * DAY
            in30 = e >= pt - 30 * DAY
            in7 = e >= pt - 7 * DAY
            legal_snaps = np.nonzero(snap_w < pt)[0]  # written strictly before (write times increase)
            s = legal_snaps[-1] if legal_snaps.size else None
            taken = np.nonzero(snap_t < pt)[0]  # by snapshot time only, ignoring when it was written
            s_time = taken[-1] if taken.size else None
            label_rows.append({
                "customer_id": cid, "pt": pt, "churned": label,
                "spend_90d": float(x[in90 & avail_before].sum()),
                "txn_count_30d": int((in30 & avail_before).sum()),
                "support_tickets": None if s is None else int(snap_tickets[s]),
                "support_age": None if s is None else pt - snap_t[s],
                "total_spend": float(x.sum()),
                "total_spend_pit": float(x[avail_before].sum()),
                "total_spend_by_time": float(x[e < pt].sum()),
                "balance": float(balance[-1]) if balance.size else None,
                "balance_pit": None if s is None else float(balance[s]),
                "balance_by_time": None if s_time is None else float(balance[s_time]),
                "txn_count_7d": int((in7 & (e < pt)).sum()),
                "txn_count_7d_pit": int((in7 & avail_before).sum()),
                "txn_count_7d_by_time": int((in7 & (e < pt)).sum()),
                "winback_contacted": bool(rng.random() < (0.92 if label else 0.01)),
                "region": REGIONS[region[c]], "plan": PLANS[plan[c]],
            })

    def ts(seconds: np.ndarray) -> pl.Series:
        micros = (np.asarray(seconds) * 1e6).astype(np.int64) + int(START.timestamp() * 1e6)
        return pl.from_epoch(pl.Series(micros), time_unit="us").dt.replace_time_zone("UTC")

    cid, e, a, x = (np.concatenate(p) for p in zip(*tx_rows, strict=True))
    order = np.argsort(a, kind="stable")  # the log is stored in ingestion order, as a log would be
    transactions = pl.DataFrame({"customer_id": cid[order].astype(np.int64), "event_time": ts(e[order]),
                                 "ingested_at": ts(a[order]), "amount": x[order]})
    sc, st, sw, stk, sb = (np.concatenate(p) for p in zip(*snap_rows, strict=True))
    snapshots = pl.DataFrame({"customer_id": sc.astype(np.int64), "snapshot_time": ts(st), "written_at": ts(sw),
                              "support_tickets_total": stk.astype(np.int64), "balance": sb})
    customers = pl.DataFrame({"customer_id": np.arange(1, N_CUSTOMERS + 1, dtype=np.int64),
                              "region": REGIONS[region], "plan": PLANS[plan],
                              "signup_date": (pl.Series([dt.date(2022, 1, 1)] * N_CUSTOMERS)
                                              + pl.Series(rng.integers(0, 1000, N_CUSTOMERS)).cast(pl.Duration("ms"))
                                              * 86_400_000)})

    labels = pl.DataFrame(label_rows).with_columns(prediction_time=ts(np.array([r["pt"] for r in label_rows])))
    n_labels = labels.height
    # Careless build: 20 rows copied twice (a repeated append), then a random 80/20 split by row.
    dup_idx = np.sort(rng.choice(n_labels, 20, replace=False))
    careless = pl.concat([labels, labels[dup_idx.tolist()]])
    careless = careless.with_columns(split=pl.Series(np.where(rng.random(careless.height) < 0.2, "test", "train")))
    training = careless.select(
        "customer_id", "prediction_time", "churned", "split", "spend_90d", "txn_count_30d", "support_tickets",
        "region", "plan", "total_spend", "balance", "txn_count_7d", "winback_contacted")

    # Clean build: point-in-time values, no proxy, no duplicates, split by customer and by time.
    cut = START + dt.timedelta(days=250)
    test_customers = rng.random(N_CUSTOMERS + 1) < 0.2
    is_test = pl.Series(test_customers[labels["customer_id"].to_numpy()])
    clean = (labels.with_columns(split=pl.when(is_test).then(pl.lit("test")).otherwise(pl.lit("train")))
             .filter(((pl.col("split") == "test") & (pl.col("prediction_time") >= cut))
                     | ((pl.col("split") == "train") & (pl.col("prediction_time") < cut - dt.timedelta(days=30))))
             .select("customer_id", "prediction_time", "churned", "split", "spend_90d", "txn_count_30d",
                     pl.when(pl.col("support_age") <= STALE_AFTER_TTL).then(pl.col("support_tickets"))
                     .alias("support_tickets"), "region", "plan", pl.col("total_spend_pit").alias("total_spend"),
                     pl.col("balance_pit").alias("balance"), pl.col("txn_count_7d_pit").alias("txn_count_7d")))

    # Planted truth, computed from the numpy values above (row order = careless training order).
    def differs(a_col: str, b_col: str) -> pl.Series:
        a_, b_ = careless[a_col], careless[b_col]
        return ~(a_.is_null() & b_.is_null()) & (a_ != b_).fill_null(True)

    def kinds(feature: str, later_kind: str) -> dict[str, int]:
        """Rows per kind: a value explained by the time-only rule is a late arrival, else later data."""
        wrong = differs(feature, f"{feature}_pit")
        late = wrong & ~differs(feature, f"{feature}_by_time")
        out = {"late_arrival": int(late.sum()), later_kind: int((wrong & ~late).sum())}
        return {k: v for k, v in out.items() if v}

    tr = careless.filter(pl.col("split") == "train")
    te = careless.filter(pl.col("split") == "test")
    shared = te.join(tr.select("customer_id").unique(), on="customer_id", how="semi")
    lo = max(tr["prediction_time"].min(), te["prediction_time"].min())
    hi = min(tr["prediction_time"].max(), te["prediction_time"].max())
    dup_split = careless.with_row_index("i").filter(
        pl.col("i").is_in(list(dup_idx) + list(range(n_labels, n_labels + 20))))
    cross = dup_split.group_by(pl.col("i").map_elements(
        lambda i: int(dup_idx[i - n_labels]) if i >= n_labels else int(i), return_dtype=pl.Int64)
    ).agg(pl.col("split").n_unique().alias("sides")).filter(pl.col("sides") > 1).height
    planted = {
        "rows": careless.height,
        "violations": {
            "total_spend": kinds("total_spend", "future_data"),
            "balance": kinds("balance", "non_asof_join"),
            "txn_count_7d": kinds("txn_count_7d", "future_data"),
        },
        "stale_feature": {"support_tickets": int(careless.filter(pl.col("support_age") > STALE_AFTER_TTL).height)},
        "target_proxy": ["winback_contacted"],
        "honest_features": ["spend_90d", "txn_count_30d", "support_tickets", "region", "plan"],
        "split": {"shared_entities": int(shared["customer_id"].n_unique()),
                  "test_entities": int(te["customer_id"].n_unique()),
                  "overlap": [lo.isoformat(), hi.isoformat()],
                  "test_rows_in_overlap": int(te.filter(pl.col("prediction_time").is_between(lo, hi)).height)},
        "duplicate_rows": {"extra_rows": 20, "cross_split_rows": cross},  # extra copies whose pair spans the split
    }
    OUT.mkdir(parents=True, exist_ok=True)
    write = {"compression": "zstd", "compression_level": 9}
    transactions.write_parquet(OUT / "transactions.parquet", **write)
    snapshots.write_parquet(OUT / "snapshots.parquet", **write)
    customers.write_parquet(OUT / "customers.parquet", **write)
    training.write_parquet(OUT / "training.parquet", **write)
    clean.write_parquet(OUT / "training_clean.parquet", **write)
    (OUT / "planted.json").write_text(json.dumps(planted, indent=2) + "\n")
    return planted


if __name__ == "__main__":
    print(json.dumps(generate(), indent=2))
