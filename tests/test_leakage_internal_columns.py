"""User columns named like the audit's internal (helper) columns give the same answers.

The internal names are read from the leakage package's own source (every ``"__wb_..."``
literal); each is tried, without the reserved prefix, as the name of every kind of user column
(entity, prediction time, target, split, declared and undeclared features, a feature
timestamp, and the sources' entity, time, available-time and value columns), in the old
``__name`` form and the plain ``name`` form. A used column that does start with the reserved
prefix is refused with a clear error.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import workbench.leakage as leakage_pkg
from workbench.errors import InputError
from workbench.leakage import Source, asof, check_leakage, static, window
from workbench.leakage.internal import PREFIX

T0 = dt.datetime(2025, 3, 1)
DAY = dt.timedelta(days=1)

# the role of each user column -> its ordinary name
ROLES = {
    "entity": "customer", "pt": "pred_time", "target": "churned", "split": "fold", "f_window": "spend",
    "f_asof": "tier", "f_static": "region", "f_stamped": "score", "stamp": "score_time", "extra": "contacted",
    "ev_entity": "ev_customer", "ev_time": "ev_time", "ev_avail": "ev_loaded", "ev_amount": "amount",
    "sn_entity": "sn_customer", "sn_time": "sn_time", "sn_value": "sn_tier", "at_entity": "at_customer",
    "at_value": "at_region",
}


def internal_names() -> list[str]:
    """Every helper column name in the leakage package (f-string placeholders filled in)."""
    found: set[str] = set()
    for path in Path(leakage_pkg.__file__).parent.glob("*.py"):
        for stem, placeholder in re.findall(r'"__wb_(\w*)(\{[^}]*\})?', path.read_text()):
            found |= {stem + fill for fill in (["0", "1", "b", "tc", "lo"] if placeholder else [""])}
    return sorted(found - {""})


def _inputs(names: dict[str, str], extra: list[str] = ()) -> dict:
    """A small audit with a planted leak of every kind, its columns named by ``names`` (role -> name);
    ``extra``: more undeclared training columns (copies of the planted proxy) with these names."""
    n = names
    rng = np.random.default_rng(7)
    customers = np.arange(1, 41)
    pts = [T0 + int(c % 5) * DAY for c in customers] + [T0 + (20 + int(c % 7)) * DAY for c in customers]
    ids = np.concatenate([customers, customers])
    y = rng.integers(0, 2, ids.size)
    ev_rows = []
    for c in customers:
        for k, (offset, late) in enumerate([(-10, 0), (-3, 0), (-1, 3), (2, 0), (15, 0), (30, 1)]):
            ev_rows.append((int(c), T0 + offset * DAY, T0 + (offset + late) * DAY, float(c + k)))
    events = pl.DataFrame(ev_rows, schema=[n["ev_entity"], n["ev_time"], n["ev_avail"], n["ev_amount"]],
                          orient="row")
    snaps = pl.DataFrame([(int(c), T0 + off * DAY, int(c) * 10 + i) for c in customers
                          for i, off in enumerate([-20, -2, 10, 40])],
                         schema=[n["sn_entity"], n["sn_time"], n["sn_value"]], orient="row")
    attrs = pl.DataFrame({n["at_entity"]: customers, n["at_value"]: [f"r{c % 3}" for c in customers]})
    rows = []
    for i, (c, pt) in enumerate(zip(ids, pts, strict=True)):
        legal = sum(a for e, t, av, a in ev_rows if e == c and t < pt and av < pt)
        by_time = sum(a for e, t, _, a in ev_rows if e == c and t < pt)
        everything = sum(a for e, t, _, a in ev_rows if e == c)
        snap = max((v for e, t, v in snaps.iter_rows() if e == c and t < pt), default=None)
        latest = int(c) * 10 + 3
        rows.append({
            n["entity"]: int(c), n["pt"]: pt, n["target"]: int(y[i]), n["split"]: "train" if i % 3 else "test",
            n["f_window"]: everything if i % 6 == 0 else by_time if i % 7 == 3 else legal,
            n["f_asof"]: latest if i % 5 == 0 else snap,
            n["f_static"]: f"r{c % 3}" if i % 9 else "r9", n["f_stamped"]: float(i % 3),
            n["stamp"]: pt + (DAY if i % 8 == 0 else -DAY), n["extra"]: bool(y[i]) if i % 30 else not y[i],
        })
    training = pl.DataFrame(rows)
    training = training.with_columns(pl.col(n["extra"]).alias(c) for c in extra)
    training = pl.concat([training, training.head(2)])  # exact duplicates
    return dict(
        training=training, entity=n["entity"], prediction_time=n["pt"], target=n["target"], split=n["split"],
        sources={"ev": Source(events, entity=n["ev_entity"], time=n["ev_time"], available_time=n["ev_avail"]),
                 "sn": Source(snaps, entity=n["sn_entity"], time=n["sn_time"]),
                 "at": Source(attrs, entity=n["at_entity"])},
        features={n["f_window"]: window("ev", n["ev_amount"]), n["f_asof"]: asof("sn", n["sn_value"], ttl="12d"),
                  n["f_static"]: static("at", n["at_value"])},
        feature_timestamps={n["f_stamped"]: n["stamp"]},
    )


def _comparable(result, names: dict[str, str], extra: list[str] = ()) -> list[tuple]:
    """Findings with the renamed columns mapped back to the ordinary names, messages left out."""
    training_roles = [r for r in ROLES if not r.startswith(("ev_", "sn_", "at_"))]  # the names findings show
    back = {names[r]: ROLES[r] for r in training_roles} | {c: f"extra_{i}" for i, c in enumerate(extra)}
    out = []
    for f in result.findings:
        metrics = {k: back.get(v, v) if isinstance(v, str) else v for k, v in f.metrics.items()}
        subject = f.subject if f.kind == "duplicate_rows" else back.get(f.subject, f.subject)
        out.append((f.kind, f.severity, subject, repr(sorted(metrics.items())), f.scope == {} or f.scope,
                    repr(f.evidence)))
    return sorted(out)


def _batches(names: list[str]) -> list[dict[str, str]]:
    """Role -> name assignments using every name once; roles left over keep their ordinary names,
    so each batch is a valid input with distinct column names."""
    roles = list(ROLES)
    batches = []
    for start in range(0, len(names), len(roles)):
        chunk = names[start:start + len(roles)]
        batches.append({**ROLES, **dict(zip(roles, chunk, strict=False))})
    return batches


@pytest.fixture(scope="module")
def ordinary():
    return check_leakage(**_inputs(ROLES))


def test_the_small_case_plants_a_finding_of_every_kind(ordinary):
    kinds = {f.kind for f in ordinary.findings}
    assert {"future_data", "non_asof_join", "feature_mismatch", "late_arrival", "stale_feature", "late_data_profile",
            "split_entity_overlap", "split_time_overlap", "duplicate_rows"} <= kinds


def test_internal_names_are_found_in_the_code_and_all_carry_the_prefix():
    names = internal_names()
    assert {"entity", "pt", "cutoff", "rn", "row", "status", "lag_s", "value", "n", "side", "copies", "pos",
            "neg"} <= set(names)
    for path in Path(leakage_pkg.__file__).parent.glob("*.py"):
        # no helper column outside the namespace: every alias/col literal starting with '__' is '__wb_...'
        bare = re.findall(r'(?:alias|col|with_row_index)\(f?"(__(?!wb_)\w+)', path.read_text())
        assert bare == [], (path.name, bare)


@pytest.mark.parametrize("form", ["__{}", "{}"])
def test_user_columns_named_like_internal_columns_give_the_same_findings(ordinary, form):
    names = [form.format(name) for name in internal_names()]
    names = [c for c in names if c not in ROLES.values()]
    expected = _comparable(ordinary, ROLES)
    for batch in _batches(names):
        assert _comparable(check_leakage(**_inputs(batch)), batch) == expected, batch


# Names where the helpers used to live, in the roles that meet them: declared features beside the
# label helpers, source columns beside the event helpers, keys in the duplicate and proxy summaries.
WORST = {"entity": "copies", "pt": "c", "target": "pos", "split": "__split", "f_window": "__pt",
         "f_asof": "__entity", "f_static": "__rn", "f_stamped": "__cutoff", "stamp": "__ts0", "extra": "v",
         "ev_entity": "__entity", "ev_time": "__avail", "ev_avail": "__time", "ev_amount": "__x",
         "sn_value": "__time", "sn_time": "__x", "at_value": "__x"}


def test_user_columns_in_the_roles_where_helpers_were_give_the_same_findings(ordinary):
    names = {**ROLES, **WORST}
    assert _comparable(check_leakage(**_inputs(names)), names) == _comparable(ordinary, ROLES)


@pytest.mark.parametrize("form", ["__{}", "{}"])
def test_undeclared_training_columns_named_like_every_internal_column_give_the_same_findings(form):
    names = [form.format(name) for name in internal_names()]
    names = [c for c in names if c not in ROLES.values()]
    ordinary = [f"extra_{i}" for i in range(len(names))]
    expected = _comparable(check_leakage(**_inputs(ROLES, ordinary)), ROLES, ordinary)
    assert _comparable(check_leakage(**_inputs(ROLES, names)), ROLES, names) == expected


@pytest.mark.slow
def test_the_same_on_duckdb_relations():
    import duckdb

    con = duckdb.connect()
    batch = {**ROLES, **WORST}

    def on_duckdb(kwargs):
        kwargs = dict(kwargs)
        kwargs["training"] = con.from_arrow(kwargs["training"].to_arrow())
        kwargs["sources"] = {k: Source(con.from_arrow(s.data.to_arrow()), entity=s.entity, time=s.time,
                                       available_time=s.available_time) for k, s in kwargs["sources"].items()}
        return kwargs

    base = check_leakage(**on_duckdb(_inputs(ROLES)))
    renamed = check_leakage(**on_duckdb(_inputs(batch)))
    assert renamed.parameters["engine"] == "duckdb"
    assert _comparable(renamed, batch) == _comparable(base, ROLES)


def test_used_columns_with_the_reserved_prefix_are_refused_and_unused_source_columns_are_ignored(ordinary):
    with pytest.raises(InputError, match=r"training: column\(s\) \['__wb_pt'\] start with '__wb_', the prefix "
                                         r"reserved .* df\.rename\(\{'__wb_pt': 'pt'\}\)"):
        check_leakage(**_inputs({**ROLES, "extra": PREFIX + "pt"}))
    with pytest.raises(InputError, match=r"source 'ev': column\(s\) \['__wb_time'\] start with '__wb_'"):
        check_leakage(**_inputs({**ROLES, "ev_time": PREFIX + "time"}))
    kwargs = _inputs(ROLES)
    ev = kwargs["sources"]["ev"]
    extra = ev.data.with_columns(pl.lit(1).alias(PREFIX + "time"), pl.lit(2).alias(PREFIX + "entity"))
    kwargs["sources"]["ev"] = Source(extra, entity=ev.entity, time=ev.time, available_time=ev.available_time)
    assert _comparable(check_leakage(**kwargs), ROLES) == _comparable(ordinary, ROLES)
