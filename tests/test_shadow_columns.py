"""The comparison's own columns never meet the user's: logs and labels whose columns are named like
any column the comparison adds or reports give the same findings, tables and verdict as the same
data under ordinary names, on polars and duckdb, in shadow and canary mode; a used column with the
reserved prefix is refused by name."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench.engine.labels
import workbench.engine.ranks
import workbench.shadow
from workbench.errors import InputError
from workbench.shadow import Guardrails, check_shadow
from workbench.shadow.columns import HELPERS, ID, LABEL, PREFIX, by_column, internal_columns, role
from workbench.shadow.reconcile import SIDES

T0 = dt.datetime(2026, 3, 1)
AS_OF = T0 + dt.timedelta(hours=30)
# the ordinary names of the roles; "label" and "label_time" are the labels' columns
ORDINARY = {"id": "rid", "timestamp": "ts", "prediction": "pred", "score": "s", "latency": "ms", "error": "err",
            "by0": "region", "by1": "device", "label": "label", "label_time": "label_time"}
GUARD = Guardrails(min_requests=200, min_labelled=200, min_support=50)


def sample_logs(n: int = 3000, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Two logs with retries, one-sided requests, failures (no prediction), a slower candidate
    that disagrees in one region, and labels that arrive over two days."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["eu", "us", "apac"], n)
    device = rng.choice(["mobile", "desktop"], n)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.85, y, 1 - y)
    score = np.clip(np.where(pred == 1, 0.7, 0.3) + rng.normal(0, 0.15, n), 0, 1).round(4)
    ts = [T0 + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 86_400, n)]

    def log(flip: np.ndarray, slower: float, error_rate: float) -> pl.DataFrame:
        err = rng.random(n) < error_rate
        shown = pl.Series(np.where(flip, 1 - pred, pred)).cast(pl.Int64).scatter(np.flatnonzero(err), None)
        return pl.DataFrame({"rid": np.arange(n), "ts": ts, "pred": shown, "s": score,
                             "ms": rng.gamma(4, 10, n) * slower, "err": err, "region": region, "device": device})

    prod = log(np.zeros(n, bool), 1.0, 0.01)
    cand = log((region == "eu") & (rng.random(n) < 0.3), 1.6, 0.04)
    prod = pl.concat([prod, prod.head(40).with_columns(pl.col("ts") - dt.timedelta(seconds=1))])  # retries
    cand = cand.filter(pl.col("rid") % 101 != 0)  # requests the candidate did not log
    arrival = [t + dt.timedelta(hours=float(h)) for t, h in zip(ts, rng.uniform(1, 40, n), strict=True)]
    labels = pl.DataFrame({"rid": np.arange(n), "label": y, "label_time": arrival})
    return prod, cand, labels.filter(pl.col("rid") % 7 != 0)


def compare(prod, cand, labels, names: dict[str, str], mode: str):
    return check_shadow(prod, cand, id=names["id"], timestamp=names["timestamp"], prediction=names["prediction"],
                        score=names["score"], latency=names["latency"], error=names["error"],
                        by=[names["by0"], names["by1"]], labels=labels, label=names["label"],
                        label_time=names["label_time"], as_of=AS_OF, mode=mode, guardrails=GUARD)


def names_the_comparison_uses() -> list[str]:
    """Every column name the comparison adds (its constants) or reports (its result tables), and
    every name its code gives a column (``.alias("...")``, ``with_columns(name=...)``), read from
    the source so that a new helper column is covered without editing this list."""
    found = set(internal_columns(2, SIDES))
    found |= {name.removeprefix(PREFIX) for name in found}  # "bin", "id", "label", "prediction_candidate", ...
    sources = [*Path(workbench.shadow.__file__).parent.glob("*.py"), Path(workbench.engine.labels.__file__),
               Path(workbench.engine.ranks.__file__)]
    for path in sources:
        text = path.read_text()
        found |= set(re.findall(r'\.alias\(\s*"([^"]+)"\s*\)', text))
        found |= set(re.findall(r'with_row_index\(\s*"([^"]+)"', text))
        found |= set(re.findall(r"[(,]\s*([a-z_]+)=(?:pl|nw)\.", text))  # with_columns(name=pl....)
    for mode in ("shadow", "canary"):
        for table in compare(*sample_logs(600), ORDINARY, mode).tables.values():
            found |= set(table.columns)
    return sorted(found)


NAMES = names_the_comparison_uses()
# the helper columns without their prefix and the result tables' keys first: duckdb (slower here) runs
# the variants that use these, polars every variant
FIRST = sorted({n.removeprefix(PREFIX) for n in (*HELPERS, by_column(0), by_column(1))} |
               {"segment", "scope", "column", "n", "side", "value"})
PLAIN = [*FIRST, *(n for n in NAMES if not n.startswith(PREFIX) and n not in {*ORDINARY.values(), *FIRST})]
ROLE_KEYS = list(ORDINARY)
SLOTS = len(ROLE_KEYS)
VARIANTS = {"polars": range(math.ceil(len(PLAIN) / SLOTS)), "duckdb": range(math.ceil(len(FIRST) / SLOTS))}


def test_the_list_of_names_covers_the_helper_and_result_columns():
    for name in (ID, LABEL, role("prediction", "candidate"), by_column(1), "segment", "scope", "column", "side",
                 "n", "bin", "agree", "value"):
        assert name in NAMES
    assert len(PLAIN) > 30


def variant(k: int) -> dict[str, str]:
    """Role -> user column for variant ``k``: the plain names taken in turn, so that across the
    variants every one of them is the name of some used column."""
    names = dict(ORDINARY)
    for j, key in enumerate(ROLE_KEYS):
        names[key] = PLAIN[(k * SLOTS + j) % len(PLAIN)]
    return names


def renamed(frames, names: dict[str, str]):
    """The logs and labels under ``names``, with every other name the comparison uses added as an
    unused column (the reserved ones too: unused, they are simply not read)."""
    prod, cand, labels = frames
    log_map = {ORDINARY[k]: names[k] for k in ("id", "timestamp", "prediction", "score", "latency", "error",
                                                 "by0", "by1")}
    label_map = {"rid": names["id"], "label": names["label"], "label_time": names["label_time"]}

    def with_extras(df: pl.DataFrame, mapping: dict[str, str]) -> pl.DataFrame:
        out = df.rename(mapping)
        extras = [n for n in NAMES if n not in out.columns]
        return out.with_columns(pl.lit("x").alias(n) for n in extras)

    return with_extras(prod, log_map), with_extras(cand, log_map), with_extras(labels, label_map)


def normalised(result, names: dict[str, str]) -> dict:
    """The result with the user's names mapped back to the ordinary ones."""
    back = {names[k]: ORDINARY[k] for k in names}

    def scope_text(text):
        if text is None or "=" not in text:
            return text
        col, value = text.split("=", 1)
        return f"{back.get(col, col)}={value}"

    findings = [(f.check, f.kind, f.severity, back.get(f.subject, f.subject), dict(f.metrics),
                 {k: {back.get(c, c): v for c, v in seg.items()} for k, seg in f.scope.items()})
                for f in result.findings]
    tables = {}
    for name, table in result.tables.items():
        if "scope" in table.columns:
            table = table.with_columns(pl.col("scope").map_elements(scope_text, return_dtype=pl.String))
        if "column" in table.columns:
            table = table.with_columns(pl.col("column").replace(back))
        tables[name] = table.drop("message", strict=False)  # text naming the columns (the guardrails')
    checks = [(c.guardrail, scope_text(c.scope), c.n, c.status, c.estimate) for c in result.verdict.checks]
    return {"findings": findings, "tables": tables, "decision": result.verdict.decision, "checks": checks,
            "coverage": result.parameters["coverage"], "pending": result.parameters["pending_labels"]}


def assert_same(a: dict, b: dict) -> None:
    assert a["decision"] == b["decision"] and a["coverage"] == b["coverage"] and a["pending"] == b["pending"]
    assert [c[:4] for c in a["checks"]] == [c[:4] for c in b["checks"]]
    assert [c[4] for c in a["checks"]] == pytest.approx([c[4] for c in b["checks"]], nan_ok=True)
    assert [(*f[:4], f[5]) for f in a["findings"]] == [(*f[:4], f[5]) for f in b["findings"]]
    for fa, fb in zip(a["findings"], b["findings"], strict=True):
        assert fa[4].keys() == fb[4].keys()
        for k, v in fa[4].items():
            assert fb[4][k] == (pytest.approx(v, nan_ok=True) if isinstance(v, float | list) else v), k
    assert a["tables"].keys() == b["tables"].keys()
    for name, table in a["tables"].items():
        assert_frame_equal(table, b["tables"][name], check_exact=False, rel_tol=1e-9)


def on_engine(frames, engine: str):
    if engine == "polars":
        return frames
    con = duckdb.connect()
    return tuple(con.from_arrow(df.to_arrow()) for df in frames)


@pytest.fixture(scope="module")
def data():
    return sample_logs()


@pytest.fixture(scope="module")
def baseline(data):
    return {(engine, mode): normalised(compare(*on_engine(data, engine), ORDINARY, mode), ORDINARY)
            for engine in ("polars", "duckdb") for mode in ("shadow", "canary")}


def test_the_sample_exercises_every_part_of_the_comparison(baseline):
    shadow = baseline[("polars", "shadow")]
    kinds = {f[1] for f in shadow["findings"]}
    assert {"disagreement", "latency_regression", "error_rate_regression", "coverage_gap",
            "duplicate_requests"} <= kinds
    assert {"agreement", "scores", "latency", "errors", "accuracy", "guardrails"} <= set(shadow["tables"])
    assert shadow["pending"] > 0 and shadow["decision"] == "rollback"
    assert "brier_production" in shadow["tables"]["accuracy"].columns


@pytest.mark.parametrize("mode", ["shadow", "canary"])
@pytest.mark.parametrize(("engine", "k"), [(e, k) for e, ks in VARIANTS.items() for k in ks])
def test_user_columns_named_like_the_comparisons_own_change_nothing(data, baseline, engine, mode, k):
    names = variant(k)
    result = compare(*on_engine(renamed(data, names), engine), names, mode)
    assert_same(normalised(result, names), baseline[(engine, mode)])


@pytest.mark.parametrize(("key", "name"), [("id", ID), ("by0", by_column(0)), ("prediction", role("prediction")),
                                           ("latency", role("latency", "candidate")), ("label", LABEL),
                                           ("label_time", f"{PREFIX}label_us")])
def test_a_used_column_with_the_reserved_prefix_is_refused_by_name(data, key, name):
    names = {**ORDINARY, key: name}
    prod, cand, labels = data
    log_map = {ORDINARY[key]: name} if key not in ("label", "label_time") else {}
    label_map = {ORDINARY[key] if key != "id" else "rid": name} if key in ("id", "label", "label_time") else {}
    with pytest.raises(InputError, match=re.escape(f"[{name!r}]") + r".* start with '__wb_', the prefix reserved"):
        compare(prod.rename(log_map), cand.rename(log_map), labels.rename(label_map), names, "shadow")
