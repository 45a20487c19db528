"""Deterministic generator of the serving sample (issue 20): two days of a model service.

Run ``python sample_data/serving/generate.py`` to rewrite the files next to it:

* ``requests.parquet``: one row per attempt of every request (the serving request log of
  docs/vocabulary.md: ``request_id``, ``timestamp``, ``client_id``, ``region``, ``endpoint``, ``host``,
  ``model_version``, ``idempotency_key``, ``attempt``, ``status``, ``error_class``, ``latency_ms``,
  ``output_hash``, ``side_effect_id``, ``fallback``, ``dependency``, ``circuit_open``);
* ``spans.parquet``: a flat span table (what ``workbench.telemetry.read_spans`` reads): per attempt a trace
  (its ``trace_id`` is the attempt's ``request_id``, a W3C trace id) with a root span and its ``feature_fetch``,
  ``inference`` and ``postprocess`` stages;
* ``metrics.parquet``: a 10-second metrics series in the long format (``timestamp``, ``metric``, ``value``,
  ``host``, ``gpu``, ``queue``): GPU utilization, memory, data-loader wait, throughput, requests, queue depth
  and its arrival, served and rejected counters;
* ``planted.json``: what was planted and the decoys, for the tests and the walkthrough.

Everything comes from numpy's generator seeded with :data:`SEED`; the planted facts in ``planted.json`` are
read back from the generated rows (first rejection, keys processed twice, ...), never assumed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261203
OUT = Path(__file__).parent
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAYS = 2
STEP = 10  # seconds between metric samples
HOSTS, GPUS, REGIONS = ("a", "b"), ("0", "1"), ("us", "eu", "apac")
CLIENTS = {  # requests per second at the daily peak, and the endpoints each client calls
    "web": (0.25, ("/predict", "/recommend")),
    "mobile": (0.15, ("/predict", "/notify")),
    "partner-api": (0.08, ("/recommend",)),
    "batch-scorer": (0.03, ("/batch_score",)),
}
LATENCY_MS = {"/predict": 40.0, "/recommend": 80.0, "/notify": 60.0, "/batch_score": 2500.0}  # medians
FALLBACK_OK = {"/predict", "/recommend"}  # endpoints that can serve default features when the store is down
NEEDS_FEATURES = {"/predict", "/recommend", "/batch_score"}
CAPACITY = 3000  # items the inference queue holds


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return START + dt.timedelta(days=day, hours=hour, minutes=minute)


OUTAGE = (at(0, 14), at(0, 14, 40))  # the feature store is down
BREAKER = (at(0, 14, 8), at(0, 14, 30))  # the circuit breaker to the feature store is open
QUEUE_PRESSURE = (at(0, 14, 5), at(0, 14, 40))  # host a's inference queue: retries in, slower service
RESTART = (at(0, 20), at(0, 20, 2))  # host b restarts: no samples, counters from zero
V13 = at(1, 8)  # model v13 (with the duplicated-processing bug) from day 2 08:00
REPLAYS = (at(0, 0), V13)  # /notify retried after a client timeout, replayed correctly (decoy): all of v12's time
DUPLICATES = (at(1, 9), at(1, 12))  # the same with model v13: processed a second time (the bug)
INPUT_BOUND = (at(1, 10), at(1, 11), "b", "1")  # host b, GPU 1 waits for its data loader
SPIKE = (at(1, 16), "b")  # a burst of queue items on host b that drains in minutes (decoy)
N_DUPLICATES, N_DIFFERENT_OUTPUT, N_REPLAYS = 40, 25, 30


def load(seconds: np.ndarray) -> np.ndarray:
    """Traffic relative to the daily peak (15:00 UTC), about zero from 01:00 to 05:00 (the idle night)."""
    hour = (seconds / 3600) % 24
    day = np.exp(-((hour - 15) ** 2) / 30)
    night = (hour >= 1) & (hour < 5)
    return np.where(night, 0.0005, np.maximum(day, 0.05))


def _in(t: dt.datetime, span: tuple[dt.datetime, dt.datetime]) -> bool:
    return span[0] <= t < span[1]


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


# -- the queue first: the request log's rejections follow it ---------------------------------------------
def queue_series(rng: np.random.Generator, host: str, times: np.ndarray) -> dict[str, np.ndarray]:
    """Per 10 s: arrivals (8 items/s at peak), service capacity (12/s), depth, served, rejected."""
    n = len(times)
    moment = np.array([START + dt.timedelta(seconds=float(s)) for s in times])
    arrivals = rng.poisson(80 * load(times)).astype(float)
    capacity = rng.poisson(120, n).astype(float)
    if host == "a":
        pressure = np.array([_in(m, QUEUE_PRESSURE) for m in moment])
        arrivals[pressure] = rng.poisson(1.5 * 80 * load(times[pressure]))
        capacity[pressure] = rng.poisson(80, int(pressure.sum()))
    if host == SPIKE[1]:
        k = int((SPIKE[0] - START).total_seconds() // STEP)
        arrivals[k:k + 2] += 300
    depth, served, rejected = np.zeros(n), np.zeros(n), np.zeros(n)
    q = 0.0
    for i in range(n):
        room = CAPACITY - q + capacity[i]
        rejected[i] = max(0.0, arrivals[i] - room)
        take = arrivals[i] - rejected[i]
        served[i] = min(capacity[i], q + take)
        q += take - served[i]
        depth[i] = q
    return {"arrivals": arrivals, "served": served, "rejected": rejected, "depth": depth}


# -- requests ----------------------------------------------------------------------------------------------
def originals(rng: np.random.Generator) -> list[dict]:
    """First attempts: a Poisson process per client with the daily load, thinned per minute."""
    minutes = np.arange(DAYS * 24 * 60) * 60.0
    rows = []
    for client, (peak, endpoints) in CLIENTS.items():
        counts = rng.poisson(peak * 60 * load(minutes + 30))
        for minute, count in zip(minutes, counts, strict=True):
            for offset in np.sort(rng.uniform(0, 60, count)):
                t = START + dt.timedelta(seconds=float(minute + offset))
                host = str(rng.choice(HOSTS))
                rows.append({"t": t, "client_id": client, "endpoint": str(rng.choice(endpoints)),
                             "region": str(rng.choice(REGIONS)), "host": "a" if _in(t, RESTART) else host})
    rows.sort(key=lambda r: r["t"])
    for i, row in enumerate(rows):
        row["idempotency_key"] = f"k{i:06d}"
    return rows


def outcome(rng: np.random.Generator, t: dt.datetime, endpoint: str, reject_share: float) -> dict:
    """One attempt's result at time ``t``: status, error class, fallback and breaker state, and its time in the
    feature fetch and in the model (``work_ms``: inference and postprocess; 0 when the model never ran); the
    latency is their sum (a rejected attempt spends ~1 ms in the gateway)."""
    work = round(float(LATENCY_MS[endpoint] * rng.lognormal(0, 0.3)), 2)
    out = {"status": "ok", "error_class": None, "fallback": False, "dependency": None, "circuit_open": False,
           "feature_ms": round(8.0 * float(rng.lognormal(0, 0.2)), 2), "work_ms": work, "feature_error": False}
    if reject_share > 0 and rng.random() < reject_share:
        return _timed(out | {"status": "rejected", "error_class": "QueueFull", "work_ms": 0.0,
                             "feature_ms": round(1.0 + float(rng.random()), 2)})
    if endpoint in NEEDS_FEATURES and _in(t, OUTAGE):
        breaker = _in(t, BREAKER)
        failing = breaker or t < BREAKER[0] or rng.random() < 0.5  # flaky after the breaker closes again
        if failing and breaker:  # short-circuited: no call to the store
            out |= {"circuit_open": True, "feature_ms": 0.2, "feature_error": True, "dependency": "feature_store"}
            if endpoint in FALLBACK_OK:
                return _timed(out | {"fallback": True})
            return _timed(out | {"status": "error", "error_class": "FeatureStoreUnavailable", "feature_ms": 2.0,
                                 "work_ms": 0.0})
        if failing:  # the fetch times out after 2 s
            out |= {"feature_ms": 2000.0, "feature_error": True}
            if endpoint in FALLBACK_OK and rng.random() < 0.75:
                return _timed(out | {"fallback": True, "dependency": "feature_store"})
            return _timed(out | {"status": "timeout", "error_class": "DeadlineExceeded", "work_ms": 0.0})
    if rng.random() < 0.003:
        return _timed(out | {"status": "error", "error_class": "InternalError"})
    if endpoint in FALLBACK_OK and rng.random() < 0.002:  # the odd cache hit on stale features
        return _timed(out | {"fallback": True, "dependency": "feature_store"})
    return _timed(out)


def _timed(out: dict) -> dict:
    return out | {"latency_ms": round(out["feature_ms"] + out["work_ms"], 2)}


def attempts(rng: np.random.Generator, first: list[dict], reject: dict[tuple[str, int], float]) -> list[dict]:
    """Every attempt: batch-scorer retries at once (20-120 ms later, up to 5 attempts); the other clients back
    off 1 s, 2 s, ... (up to 3 attempts). Only failures are retried."""
    rows = []
    for req in first:
        t, attempt = req["t"], 1
        while True:
            slot = int((t - START).total_seconds() // STEP)
            result = outcome(rng, t, req["endpoint"], reject.get((req["host"], slot), 0.0))
            rows.append(req | result | {"t": t, "attempt": attempt})
            if result["status"] == "ok":
                break
            if req["client_id"] == "batch-scorer" and attempt < 5:
                wait = rng.uniform(0.02, 0.12)
            elif req["client_id"] != "batch-scorer" and attempt < 3:
                wait = 2 ** (attempt - 1) * rng.uniform(0.9, 1.3)
            else:
                break
            t = t + dt.timedelta(seconds=float(result["latency_ms"]) / 1000 + wait)
            attempt += 1
    return rows


def notify_retries(rng: np.random.Generator, rows: list[dict], span: tuple[dt.datetime, dt.datetime], n: int,
                   *, duplicate: bool) -> list[dict]:
    """Second attempts of ``n`` successful /notify requests in ``span`` (the client timed out before the answer):
    replayed (same output and side effect) or, with ``duplicate``, processed again (a new side effect; for the
    first :data:`N_DIFFERENT_OUTPUT` a different output too)."""
    candidates = [r for r in rows if r["endpoint"] == "/notify" and r["status"] == "ok" and r["attempt"] == 1
                  and _in(r["t"], span)]
    chosen = sorted(rng.choice(len(candidates), n, replace=False))
    extra = []
    for j, index in enumerate(chosen):
        first = candidates[int(index)]
        work = round(float(LATENCY_MS["/notify"] * rng.lognormal(0, 0.3)), 2)
        again = dict(first) | {"t": first["t"] + dt.timedelta(seconds=float(rng.uniform(3, 8))), "attempt": 2,
                               "work_ms": work, "latency_ms": round(first["feature_ms"] + work, 2)}
        if duplicate:
            again["side_effect_id"] = f"se-{first['idempotency_key']}-2"
            if j < N_DIFFERENT_OUTPUT:
                again["output_hash"] = _hash(first["idempotency_key"] + "/again")
        extra.append(again)
    return extra


def request_log(rng: np.random.Generator, reject: dict[tuple[str, int], float]) -> pl.DataFrame:
    rows = attempts(rng, originals(rng), reject)
    for r in rows:
        ok = r["status"] == "ok"
        r["output_hash"] = _hash(r["idempotency_key"] + ("/fallback" if r["fallback"] else "")) if ok else None
        r["side_effect_id"] = f"se-{r['idempotency_key']}" if ok and r["endpoint"] == "/notify" else None
    rows += notify_retries(rng, rows, REPLAYS, N_REPLAYS, duplicate=False)
    rows += notify_retries(rng, rows, DUPLICATES, N_DUPLICATES, duplicate=True)
    rows.sort(key=lambda r: (r["t"], r["idempotency_key"], r["attempt"]))
    frame = pl.DataFrame([{
        "request_id": f"5e{i:030d}", "timestamp": r["t"], "client_id": r["client_id"], "region": r["region"],
        "endpoint": r["endpoint"], "host": r["host"], "model_version": "v13" if r["t"] >= V13 else "v12",
        "idempotency_key": r["idempotency_key"], "attempt": r["attempt"], "status": r["status"],
        "error_class": r["error_class"], "latency_ms": round(float(r["latency_ms"]), 2),
        "output_hash": r["output_hash"], "side_effect_id": r["side_effect_id"], "fallback": r["fallback"],
        "dependency": r["dependency"], "circuit_open": r["circuit_open"],
        "__feature_ms": r["feature_ms"], "__work_ms": r["work_ms"], "__feature_error": r["feature_error"],
    } for i, r in enumerate(rows)])
    return frame.with_columns(pl.col("timestamp").dt.cast_time_unit("us"), pl.col("attempt").cast(pl.Int32))


def spans(log: pl.DataFrame) -> pl.DataFrame:
    """A flat span table: per attempt a root span (gateway), feature_fetch (gateway), inference and postprocess
    (model-server); the stages add up to the attempt's latency. A rejected attempt has only the root; one where
    the model never ran (a timeout, a short-circuited error) has no inference and postprocess spans."""
    ms = pl.duration(microseconds=(pl.col("__ms") * 1000).round().cast(pl.Int64))
    n = pl.int_range(pl.len()).cast(pl.UInt64)
    base = log.with_columns(n.alias("__n"))
    root = pl.format("{}{}", pl.lit("a"), pl.col("__n").cast(pl.String).str.pad_start(15, "0"))
    rest = pl.col("__work_ms")
    frames = [base.with_columns(pl.lit(None, pl.String).alias("parent_span_id"), root.alias("span_id"),
                                pl.format("POST {}", pl.col("endpoint")).alias("name"), pl.lit("server").alias("kind"),
                                pl.col("latency_ms").alias("__ms"), pl.lit(0.0).alias("__at"),
                                pl.when(pl.col("status") == "ok").then(pl.lit("ok")).otherwise(pl.lit("error"))
                                .alias("status_code"), pl.lit("gateway").alias("service.name"))]
    live = base.filter(pl.col("status") != "rejected")
    ran = live.filter(pl.col("__work_ms") > 0)  # the model ran (not a timeout or a short-circuited error)
    stages = (("b", "feature_fetch", "client", pl.col("__feature_ms"), pl.lit(0.0), "gateway",
               pl.when(pl.col("__feature_error")).then(pl.lit("error")).otherwise(pl.lit("unset"))),
              ("c", "inference", "internal", rest * 0.85, pl.col("__feature_ms"), "model-server", pl.lit("unset")),
              ("d", "postprocess", "internal", rest * 0.15, pl.col("__feature_ms") + rest * 0.85, "model-server",
               pl.lit("unset")))
    for letter, name, kind, length, offset, service, status in stages:
        frames.append((live if name == "feature_fetch" else ran).with_columns(
            root.alias("parent_span_id"),
            pl.format("{}{}", pl.lit(letter), pl.col("__n").cast(pl.String).str.pad_start(15, "0")).alias("span_id"),
            pl.lit(name).alias("name"), pl.lit(kind).alias("kind"), length.alias("__ms"), offset.alias("__at"),
            status.alias("status_code"), pl.lit(service).alias("service.name")))
    columns = ["trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time", "status_code",
               "service.name", "request_id", "client_id", "endpoint", "region", "host"]
    out = pl.concat([f.with_columns(pl.col("request_id").alias("trace_id"), (pl.col("timestamp") + pl.duration(
        microseconds=(pl.col("__at") * 1000).round().cast(pl.Int64))).alias("start_time")).with_columns(
        (pl.col("start_time") + ms).alias("end_time")).select(columns) for f in frames])
    return out.sort("start_time", "span_id")


# -- metrics -----------------------------------------------------------------------------------------------
def metrics(rng: np.random.Generator, log: pl.DataFrame, queues: dict[str, dict[str, np.ndarray]],
            times: np.ndarray) -> pl.DataFrame:
    n = len(times)
    stamps = pl.Series([START + dt.timedelta(seconds=float(s)) for s in times]).dt.cast_time_unit("us")
    restart = ((stamps >= RESTART[0]) & (stamps < RESTART[1])).to_numpy()
    after = (stamps >= RESTART[1]).to_numpy()
    slot = ((pl.col("timestamp") - START).dt.total_microseconds() // (STEP * 1_000_000)).alias("slot")
    frames = []

    def add(metric: str, values: np.ndarray, host: str, gpu: str | None = None, queue: str | None = None) -> None:
        keep = ~restart if host == "b" else np.ones(n, bool)
        frames.append(pl.DataFrame({"timestamp": stamps.filter(pl.Series(keep)), "metric": metric,
                                    "value": values[keep], "host": host, "gpu": gpu, "queue": queue},
                                   schema_overrides={"gpu": pl.String, "queue": pl.String}))

    def counter(increments: np.ndarray, host: str) -> np.ndarray:
        total = np.cumsum(increments)
        if host == "b":  # the restart: counting again from zero after it
            total[after] = np.cumsum(increments[after])
        return total

    for host in HOSTS:
        per_slot = log.filter(pl.col("host") == host).group_by(slot).len()
        requests = np.zeros(n)
        requests[per_slot["slot"].to_numpy()] = per_slot["len"].to_numpy()
        add("requests_total", counter(requests, host), host)
        for gpu in GPUS:
            busy = load(times)
            util = np.clip(0.03 + 0.8 * busy + rng.normal(0, 0.04, n), 0, 1)
            wait = np.clip(rng.gamma(2, 0.15, n), 0, STEP)  # seconds waited in the 10 s before the sample
            memory = np.clip(0.55 + rng.normal(0, 0.01, n), 0, 1)
            if (host, gpu) == INPUT_BOUND[2:]:
                starved = ((stamps >= INPUT_BOUND[0]) & (stamps < INPUT_BOUND[1])).to_numpy()
                util[starved] = np.clip(rng.normal(0.25, 0.04, int(starved.sum())), 0, 1)
                wait[starved] = np.clip(rng.normal(7.0, 0.5, int(starved.sum())), 0, STEP)
            total = 80 * 2**30
            add("gpu_utilization", np.round(util, 3), host, gpu)
            add("gpu_memory_used_bytes", np.round(memory * total / 2**20) * 2**20, host, gpu)
            add("gpu_memory_total_bytes", np.full(n, float(total)), host, gpu)
            add("dataloader_wait_seconds", np.round(wait, 2), host, gpu)
            add("throughput", np.round(util * 120, 1), host, gpu)
        q = queues[host]
        add("queue_depth", q["depth"], host, queue="inference")
        add("queue_arrivals_total", counter(q["arrivals"], host), host, queue="inference")
        add("queue_served_total", counter(q["served"], host), host, queue="inference")
        add("queue_rejected_total", counter(q["rejected"], host), host, queue="inference")
    return pl.concat(frames).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))


# -- planted facts, read back from the rows ----------------------------------------------------------------
def planted(log: pl.DataFrame, queues: dict[str, dict[str, np.ndarray]], times: np.ndarray) -> dict:
    ok = log.filter(pl.col("status") == "ok")
    per_key = ok.group_by("idempotency_key").agg(pl.len().alias("n"), pl.col("side_effect_id").n_unique().alias("se"),
                                                pl.col("output_hash").n_unique().alias("out"))
    duplicated = per_key.filter(pl.col("se") > 1).sort("idempotency_key")
    replayed = per_key.filter((pl.col("n") > 1) & (pl.col("se") == 1))
    storm = log.filter(pl.col("timestamp").is_between(*OUTAGE, closed="left") & (pl.col("client_id") == "batch-scorer"))
    a = queues["a"]
    first_rejection = int(np.argmax(a["rejected"] > 0))
    iso = dt.datetime.isoformat
    return {
        "seed": SEED, "start": iso(START), "end": iso(START + dt.timedelta(days=DAYS)), "metric_interval_s": STEP,
        "rows": {"requests": log.height},
        "dependency_outage": {
            "dependency": "feature_store", "start": iso(OUTAGE[0]), "end": iso(OUTAGE[1]),
            "circuit_open": [iso(BREAKER[0]), iso(BREAKER[1])],
            "fallback_share_during": round(float(log.filter(pl.col("timestamp").is_between(*OUTAGE, closed="left")
                                                            & pl.col("endpoint").is_in(sorted(FALLBACK_OK)))
                                                 ["fallback"].mean()), 4),  # type: ignore[arg-type]
            "retry_storm": {"client_id": "batch-scorer", "endpoint": "/batch_score", "max_attempt": 5,
                            "backoff_ms": [20, 120], "attempts": storm.height,
                            "retries": int((storm["attempt"] > 1).sum()),
                            "retried_error_classes_never_succeed": ["FeatureStoreUnavailable"]},
        },
        "queue": {"host": "a", "queue": "inference", "capacity": CAPACITY, "pressure": [iso(QUEUE_PRESSURE[0]),
                                                                                         iso(QUEUE_PRESSURE[1])],
                  "first_rejection": iso(START + dt.timedelta(seconds=float(times[first_rejection]))),
                  "rejected_items": int(a["rejected"].sum()),
                  "rejected_requests": int(log.filter(pl.col("status") == "rejected").height)},
        "duplicated_processing": {"endpoint": "/notify", "model_version": "v13",
                                  "window": [iso(DUPLICATES[0]), iso(DUPLICATES[1])],
                                  "keys": duplicated["idempotency_key"].to_list(),
                                  "different_output": int((duplicated["out"] > 1).sum())},
        "input_bound_gpu": {"host": INPUT_BOUND[2], "gpu": INPUT_BOUND[3], "start": iso(INPUT_BOUND[0]),
                            "end": iso(INPUT_BOUND[1]), "utilization": 0.25, "wait_share": 0.7},
        "metrics_gap": {"host": "b", "from": iso(RESTART[0] - dt.timedelta(seconds=STEP)), "to": iso(RESTART[1]),
                        "missing_samples": int((RESTART[1] - RESTART[0]).total_seconds() // STEP),
                        "counters_reset_at": iso(RESTART[1])},
        "decoys": {
            "idempotent_replays": {"endpoint": "/notify", "window": [iso(REPLAYS[0]), iso(REPLAYS[1])],
                                   "keys": replayed.height},
            "queue_spike": {"host": SPIKE[1], "queue": "inference", "at": iso(SPIKE[0]), "items": 600},
            "idle_gpu_nights": ["01:00", "05:00"],
            "slow_endpoint": {"endpoint": "/batch_score", "median_latency_ms": LATENCY_MS["/batch_score"]},
        },
    }


def main(out: Path = OUT) -> None:
    rng = np.random.default_rng(SEED)
    times = np.arange(0, DAYS * 86400, STEP, dtype=float)
    queues = {host: queue_series(rng, host, times) for host in HOSTS}
    arrivals = {host: q["arrivals"] for host, q in queues.items()}
    reject = {(host, i): float(queues[host]["rejected"][i] / arrivals[host][i])
              for host in HOSTS for i in np.flatnonzero(queues[host]["rejected"] > 0)}
    log = request_log(rng, reject)
    out.mkdir(parents=True, exist_ok=True)
    spans(log).write_parquet(out / "spans.parquet", statistics=False)
    metrics(rng, log, queues, times).write_parquet(out / "metrics.parquet", statistics=False)
    facts = planted(log, queues, times)
    log.drop("__feature_ms", "__work_ms", "__feature_error").write_parquet(out / "requests.parquet", statistics=False)
    (out / "planted.json").write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    main()
