"""User columns named like drift's internal helper columns give the same answers as ordinary names.

Every helper column drift adds starts with the reserved prefix (``workbench.drift.summaries.PREFIX``);
a used user column with that prefix is refused by name, an unused one is never read. User columns
named like the helpers without the prefix (``value``, ``count``, ``rows``, ``window`` ...), like the
old helper names (``__window``, ``__rn``, ``x<SEP>sum``), or like the result tables' own columns
(``scope``, ``bin``, ``column``...) are ordinary columns: drift, fit_profile and
check_skew give the same result as with ordinary names, on polars and on duckdb."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.drift import check_drift, check_skew, fit_profile
from workbench.drift.skew import SERVING_ID
from workbench.drift.summaries import INTERNAL_COLUMNS, PREFIX, SEP
from workbench.drift.tables import BIN_SCHEMA, CATEGORY_SCHEMA, SCHEMA_SCHEMA
from workbench.errors import InputError

BARE = [c.removeprefix(PREFIX) for c in INTERNAL_COLUMNS]
NAMES = sorted({*BARE, *(f"__{c}" for c in BARE), *BIN_SCHEMA, *CATEGORY_SCHEMA, *SCHEMA_SCHEMA,
                "segment", "scope", "n", "side", "id", "training", "serving", "matched", "training_only",
                "serving_only", "nulls", "unique", "x__serving", SERVING_ID.removeprefix(PREFIX)})
ROLES = ("x", "c", "flag", "seg", "ts", "score", "label", "extra")  # the ordinary names, one per role
RESERVED_UNUSED = {name: pl.lit(1) for name in (*INTERNAL_COLUMNS, SERVING_ID)}


def sample(seed: int, n: int, shift: float) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "x": rng.normal(shift, 1, n),
        "c": rng.choice(["a", "b", "c"], n, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4]),
        "flag": rng.random(n) < 0.3,
        "seg": rng.choice(["eu", "us"], n),
        "ts": [dt.datetime(2025, 1, 1) + dt.timedelta(minutes=3 * i) for i in range(n)],
        "score": rng.random(n) + shift / 2,
        "label": rng.integers(0, 2, n),
        "extra": rng.normal(0, 1, n),
    }).with_columns(x=pl.when(pl.int_range(pl.len()) % 50 == 0).then(None).otherwise(pl.col("x")))


REF, CUR = sample(1, 900, 0.0), sample(2, 900, 0.4)
BIG = sample(3, 2500, 0.0)  # more rows than edge_rows=1000: bin edges from every 3rd row


def variants() -> list[dict[str, str]]:
    """Each role named after each test name once (rotating), plus the old ``<column><SEP><op>`` aliases."""
    out = [{role: NAMES[(k + j) % len(NAMES)] for j, role in enumerate(ROLES)} for k in range(len(NAMES))]
    out.append({**{r: r for r in ROLES}, "seg": f"x{SEP}sum", "extra": f"c{SEP}nulls", "label": f"x{SEP}le0"})
    return out


def drift_kwargs(names: dict[str, str]) -> dict:
    return {"timestamp": names["ts"], "by": names["seg"], "score": names["score"], "target": names["label"],
            "exclude": [names["extra"], *RESERVED_UNUSED], "seed": 3}


def renamed(frame: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    return frame.rename({r: names[r] for r in ROLES}).with_columns(**RESERVED_UNUSED)


def normalise(result, names: dict[str, str]) -> tuple:
    """The result with the role names mapped back to the ordinary ones: tables and findings."""
    back = {v: k for k, v in names.items()}
    seg = names["seg"]

    def scope(col: str) -> pl.Expr:
        label = pl.col(col)
        return pl.when(label.str.starts_with(f"{seg}=")).then(pl.lit("seg=") + label.str.slice(len(seg) + 1)) \
            .otherwise(label)

    tables = {}
    for name, frame in result.tables.items():
        mapped = [pl.col(c).replace(back) for c in ("column", "reference_column") if c in frame.columns]
        mapped += [scope("scope").alias("scope")] if "scope" in frame.columns else []
        tables[name] = frame.with_columns(mapped)
    def label(text: str) -> str:
        return "seg=" + text[len(seg) + 1:] if text.startswith(f"{seg}=") else back.get(text, text)

    findings = [(f.kind, f.severity, label(f.subject),
                 {k: {back.get(a, a): b for a, b in v.items()} if isinstance(v, dict) else v
                  for k, v in f.scope.items()},
                 {k: [label(s) for s in v] if k == "also_in" else v for k, v in f.metrics.items()})
                for f in result.findings]
    return tables, findings


def assert_same(result, expected, names: dict[str, str]) -> None:
    got_tables, got_findings = normalise(result, names)
    want_tables, want_findings = normalise(expected, {r: r for r in ROLES})
    assert got_tables.keys() == want_tables.keys()
    for name in want_tables:
        assert_frame_equal(got_tables[name], want_tables[name], check_dtypes=False)
    assert sorted(got_findings, key=str) == sorted(want_findings, key=str)  # findings sort by subject name


@pytest.fixture(scope="module")
def ordinary():
    con = duckdb.connect()
    con.register("r", renamed(REF, dict(zip(ROLES, ROLES, strict=True))).to_arrow())
    con.register("c", renamed(CUR, dict(zip(ROLES, ROLES, strict=True))).to_arrow())
    plain = {r: r for r in ROLES}
    return {"polars": check_drift(REF, CUR, **drift_kwargs(plain)),
            "duckdb": check_drift(con.table("r"), con.table("c"), **drift_kwargs(plain)),
            "profile": fit_profile(BIG, by=["seg"], categorical=["label"], edge_rows=1000, exclude=["ts"]),
            "skew": check_skew(*skew_pair(plain), id="extra",
                               columns=[r for r in ROLES if r not in ("ts", "extra")])}


def test_the_names_cover_every_internal_column_and_drift_reaches_them():
    assert {"value", "count", "rows", "window", "bucket", "rn", "column"} <= set(NAMES)
    assert all(c.startswith(PREFIX) for c in INTERNAL_COLUMNS)
    result = check_drift(REF, CUR, **drift_kwargs({r: r for r in ROLES}))
    assert {"distribution_drift", "prediction_drift"} <= {f.kind for f in result.at_least("warning")}
    assert {"window", "segment"} <= set(result.to_polars("columns")["scope_kind"])


@pytest.mark.parametrize("names", variants(), ids=lambda n: "|".join(n.values()).replace(SEP, "<SEP>"))
def test_drift_gives_the_same_answers_whatever_the_user_columns_are_called(names, ordinary):
    ref, cur = renamed(REF, names), renamed(CUR, names)
    assert_same(check_drift(ref, cur, **drift_kwargs(names)), ordinary["polars"], names)
    con = duckdb.connect()
    con.register("r", ref.to_arrow())
    con.register("c", cur.to_arrow())
    assert_same(check_drift(con.table("r"), con.table("c"), **drift_kwargs(names)), ordinary["duckdb"], names)
    # every k-th row for the bin edges (edge_rows < rows): the SQL's row-number column
    con.register("big", renamed(BIG, names).to_arrow())
    profile = fit_profile(con.table("big"), by=[names["seg"]], categorical=[names["label"]], edge_rows=1000,
                          exclude=[names["ts"], *RESERVED_UNUSED])
    assert profile.edge_rows == 834 and profile.rows == 2500
    back = {v: k for k, v in names.items()}
    assert {back[c]: p.counts for c, p in profile.columns.items()} == \
        {c: p.counts for c, p in ordinary["profile"].columns.items()}
    assert {back[c]: p.edges for c, p in profile.columns.items()} == \
        {c: p.edges for c, p in ordinary["profile"].columns.items()}


def skew_pair(names: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Training and serving rows of the same requests (``extra`` renamed to the id); serving
    differs on x for one request in ten and on c for one in twenty."""
    training = REF.with_columns(extra=pl.int_range(pl.len())).drop("ts")
    serving = training.with_columns(
        x=pl.when(pl.col("extra") % 10 == 0).then(pl.col("x") + 1).otherwise(pl.col("x")),
        c=pl.when(pl.col("extra") % 20 == 0).then(pl.lit("z")).otherwise(pl.col("c")))
    roles = [r for r in ROLES if r != "ts"]
    return (training.rename({r: names[r] for r in roles}).with_columns(**RESERVED_UNUSED),
            serving.rename({r: names[r] for r in roles}).with_columns(**RESERVED_UNUSED))


@pytest.mark.parametrize("names", variants(), ids=lambda n: "|".join(n.values()).replace(SEP, "<SEP>"))
def test_skew_gives_the_same_answers_whatever_the_user_columns_are_called(names, ordinary):
    features = [names[r] for r in ROLES if r not in ("ts", "extra")]
    result = check_skew(*skew_pair(names), id=names["extra"], columns=features)
    back = {v: k for k, v in names.items()}
    expected = ordinary["skew"]
    assert_frame_equal(result.to_polars("features").with_columns(pl.col("feature").replace(back)),
                       expected.to_polars("features"))
    id_key = names["extra"] if names["extra"] not in ("training", "serving") else f"{names['extra']} (id)"
    got = [(f.kind, f.severity, back.get(f.subject, f.subject), f.metrics,
            [(e[id_key], e["training"], e["serving"]) for e in f.evidence]) for f in result.findings]
    want = [(f.kind, f.severity, f.subject, f.metrics, [(e["extra"], e["training"], e["serving"]) for e in f.evidence])
            for f in expected.findings]
    assert sorted(got, key=str) == sorted(want, key=str)  # findings sort by subject name
    assert sorted(f.subject for f in expected.findings) == ["c", "x"]


@pytest.mark.parametrize("reserved", INTERNAL_COLUMNS)
def test_a_used_column_with_the_reserved_prefix_is_refused_by_name(reserved):
    ref, cur = REF.rename({"x": reserved}), CUR.rename({"x": reserved})
    message = rf"column\(s\) \['{reserved}'\] start with '{PREFIX}', the prefix reserved"
    with pytest.raises(InputError, match=message):
        check_drift(ref, cur)
    with pytest.raises(InputError, match=message):
        fit_profile(REF.rename({"seg": reserved}), by=[reserved])
    with pytest.raises(InputError, match=message):
        check_drift(fit_profile(REF, exclude=["ts"]), CUR.rename({"ts": reserved}), timestamp=reserved)
    training, serving = (frame.drop(*RESERVED_UNUSED) for frame in skew_pair({r: r for r in ROLES}))
    with pytest.raises(InputError, match=message):
        check_skew(training.rename({"x": reserved}), serving.rename({"x": reserved}), id="extra",
                   columns=[reserved])
    # unused, it is left alone
    columns = check_drift(ref, cur, exclude=[reserved]).to_polars("columns")
    assert not columns.filter(pl.col("column") == reserved).height


def test_category_values_named_like_bin_sentinels_are_ordinary_categories():
    rng = np.random.default_rng(5)
    values = np.array(["a", "__new__", "__other__", "other", "new", "(other or new)"])
    ref = pl.DataFrame({"c": rng.choice(values, 3000)})
    cur = pl.DataFrame({"c": rng.choice(values, 3000)})
    result = check_drift(ref, cur)
    assert not result.findings
    bins = result.to_polars("bins")
    assert bins["current_count"].to_list()[:-1] == [int((cur["c"] == v).sum()) for v in bins["label"][:-1]]
    assert bins["current_count"][-1] == 0  # the other bin: nothing is rare or new here
