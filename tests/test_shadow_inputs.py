"""Parameters of check_shadow, reconcile, decide and Guardrails are checked at the boundary (one
rule per kind, workbench.params), and too little data never gives a confident verdict."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import polars as pl
import pytest
from scipy.stats import binom
from test_shadow_foundation import labelled_logs, shadow_logs

from workbench.errors import ConfigError, InputError
from workbench.shadow import GuardrailCheck, Guardrails, check_shadow, decide, reconcile
from workbench.shadow.compare import MODES
from workbench.shadow.quantiles import min_sample, order_statistic_ranks

OPS_ONLY = Guardrails(require_accuracy=False)


def late_labels():
    """Shadow logs with labels arriving over ten days from 2026-03-01 (naive times)."""
    prod, cand, labels = labelled_logs(3, 0.8, 0.8)
    arrival = [dt.datetime(2026, 3, 1) + dt.timedelta(hours=i % 240) for i in range(labels.height)]
    return prod, cand, labels.with_columns(label_time=pl.Series(arrival))


@pytest.mark.parametrize("as_of", ["2026-03-08", "2026-03-08T00:00:00", dt.date(2026, 3, 8)])
def test_as_of_as_an_iso_string_or_a_date_is_the_same_instant(as_of):
    prod, cand, labels = late_labels()
    kwargs = {"id": "rid", "prediction": "pred", "labels": labels, "label_time": "label_time"}
    expected = check_shadow(prod, cand, as_of=dt.datetime(2026, 3, 8), **kwargs)
    result = check_shadow(prod, cand, as_of=as_of, **kwargs)
    assert result.parameters["pending_labels"] == expected.parameters["pending_labels"] == \
        int((labels["label_time"] > dt.datetime(2026, 3, 8)).sum()) > 0
    assert result.parameters["as_of"] == dt.datetime(2026, 3, 8)
    assert result.to_polars("accuracy").equals(expected.to_polars("accuracy"))


@pytest.mark.parametrize("as_of", [20260308, "yesterday", "08/03/2026", 1.5])
def test_as_of_that_is_not_a_time_is_refused(as_of):
    prod, cand, labels = late_labels()
    with pytest.raises(ConfigError, match=re.escape("The 'as_of' parameter of check_shadow must be a datetime or an "
                                                    f"ISO time such as '2026-03-08T12:00:00+00:00'. Got {as_of!r}.")):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=labels, label_time="label_time", as_of=as_of)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"confidence": 0}, "'confidence' parameter of check_shadow must be a number strictly between 0 and 1"),
     ({"confidence": 1.0}, "'confidence' parameter of check_shadow must be a number strictly between 0 and 1"),
     ({"confidence": "0.95"}, "'confidence' parameter of check_shadow must be a number strictly between 0 and 1"),
     ({"fdr": 0}, "'fdr' parameter of check_shadow must be a number strictly between 0 and 1"),
     ({"fdr": 1.2}, "'fdr' parameter of check_shadow must be a number strictly between 0 and 1"),
     ({"fdr": True}, "'fdr' parameter of check_shadow must be a number strictly between 0 and 1"),
     ({"disagreement_margin": -0.01}, r"'disagreement_margin' parameter of check_shadow must be a proportion in \[0"),
     ({"disagreement_margin": 5}, r"'disagreement_margin' parameter of check_shadow must be a proportion in \[0"),
     ({"large_change": 0}, "'large_change' parameter of check_shadow must be a number greater than zero"),
     ({"large_change": math.nan}, "'large_change' parameter of check_shadow must be a number greater than zero"),
     ({"stage": 0}, r"'stage' parameter of check_shadow must be a share in \(0, 1\]"),
     ({"stage": 1.5}, r"'stage' parameter of check_shadow must be a share in \(0, 1\]"),
     ({"stage": "5%"}, r"'stage' parameter of check_shadow must be a share in \(0, 1\]"),
     ({"stages": (0.5, 0.1)}, r"stages must be increasing traffic shares in \(0, 1\]"),
     ({"stages": (0.1, 0.1)}, r"stages must be increasing traffic shares in \(0, 1\]"),
     ({"stages": ()}, r"stages must be increasing traffic shares in \(0, 1\]"),
     ({"stages": (0.0, 0.5)}, r"'stages\[0\]' parameter must be a share in \(0, 1\]"),
     ({"stages": (0.1, 1.2)}, r"'stages\[1\]' parameter must be a share in \(0, 1\]"),
     ({"stages": "0.1,0.5"}, "stages must be a sequence of increasing traffic shares"),
     ({"stages": 0.5}, "stages must be a sequence of increasing traffic shares")],
)
def test_check_shadow_refuses_parameters_out_of_their_range(kwargs, message):
    prod, cand = shadow_logs(0)
    with pytest.raises(ConfigError, match=message):
        check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", guardrails=OPS_ONLY, **kwargs)


@pytest.mark.parametrize("mode", ["split", "Shadow", None])
def test_an_unknown_mode_is_refused_listing_the_modes(mode):
    prod, cand = shadow_logs(0)
    with pytest.raises(ConfigError, match=re.escape(f"mode must be one of {list(MODES)}")):
        check_shadow(prod, cand, id="rid", latency="ms", mode=mode)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"id": 5}, "id must be the name of the request id column, got 5"),
     ({"by": 5}, "by must be a column name or a list of column names, got 5"),
     ({"by": ["region", None]}, r"by must be a column name or a list of column names, got \['region', None\]"),
     ({"latency": ["ms"]}, r"latency must be a column name \(or None\), got \['ms'\]")],
)
def test_reconcile_refuses_roles_that_are_not_column_names(kwargs, message):
    prod, cand = shadow_logs(0)
    with pytest.raises(ConfigError, match=message):
        reconcile(prod, cand, **{"id": "rid", **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"min_requests": 0}, "'min_requests' parameter of Guardrails must be an integer of at least 1. Got 0."),
     ({"min_labelled": 2.5}, "'min_labelled' parameter of Guardrails must be an integer of at least 1. Got 2.5."),
     ({"min_support": "100"}, "'min_support' parameter of Guardrails must be an integer of at least 1. Got '100'."),
     ({"looks": True}, "'looks' parameter of Guardrails must be an integer of at least 1. Got True."),
     ({"latency_ratio": math.nan}, "'latency_ratio' parameter of Guardrails must be a number greater than zero"),
     ({"latency_ratio": "1.2"}, "'latency_ratio' parameter of Guardrails must be a number greater than zero"),
     ({"mae_ratio": 0}, "'mae_ratio' parameter of Guardrails must be a number greater than zero"),
     ({"mae_ratio": 0.9}, "mae_ratio is candidate / production and must be >= 1"),
     ({"error_increase": 1}, r"'error_increase' parameter of Guardrails must be a proportion in \[0, 1\)"),
     ({"accuracy_drop": -0.01}, r"'accuracy_drop' parameter of Guardrails must be a proportion in \[0, 1\)"),
     ({"max_coverage_gap": math.nan}, r"'max_coverage_gap' parameter of Guardrails must be a proportion in \[0, 1\)"),
     ({"latency_quantile": 1}, "'latency_quantile' parameter of Guardrails must be a number strictly between 0 and 1"),
     ({"require_accuracy": "yes"}, "'require_accuracy' parameter of Guardrails must be true or false. Got 'yes'."),
     ({"confidence": 1}, "'confidence' parameter of Guardrails must be a number strictly between 0 and 1"),
     ({"confidence": 0.3}, r"confidence must be in \[0.5, 1\)")],
)
def test_guardrails_refuse_each_field_out_of_its_range(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Guardrails(**kwargs)


def check(status: str = "not_checked", **kw) -> GuardrailCheck:
    fields = {"guardrail": "error_rate", "scope": "all", "n": 5000, "needed": 1000, "estimate": 0.0,
              "tolerance": 0.005, "harm_low": -0.002, "harm_high": 0.002, "unit": "points"} | kw
    return GuardrailCheck(**fields, status=status)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [(([check()], "strict"), {}, ConfigError, "guardrails must be a Guardrails"),
     ((check(), Guardrails()), {}, ConfigError, "checks must be a sequence of GuardrailCheck"),
     (([{"guardrail": "error_rate"}], Guardrails()), {}, ConfigError, "checks must be a sequence of GuardrailCheck"),
     (([check()], Guardrails()), {"extra_holds": "coverage"}, ConfigError, "extra_holds must be a sequence"),
     (([check()], Guardrails()), {"stage": 2, "stages": (0.5, 1.0)}, ConfigError,
      r"'stage' parameter of decide must be a share in \(0, 1\]"),
     (([check()], Guardrails()), {"stages": (0.5, 0.1)}, ConfigError, "stages must be increasing")],
)
def test_decide_refuses_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        decide(*args, **kwargs)


def test_decide_promotes_a_check_within_tolerance_and_holds_when_nothing_was_judged():
    assert decide([check()], Guardrails(), stage=0.05, stages=(0.05, 0.25, 1.0)).next_stage == 0.25
    v = decide([], Guardrails())
    assert v.decision == "hold" and v.reasons == ("nothing to judge: no guardrail was checked.",)


@pytest.mark.parametrize("mode", ["shadow", "canary"])
@pytest.mark.parametrize("labelled", [False, True])
def test_a_one_row_input_holds_for_insufficient_data(mode, labelled):
    one = pl.DataFrame({"rid": [1], "pred": [1], "ms": [10.0], "err": [False], "region": ["eu"]})
    kwargs = {"labels": pl.DataFrame({"rid": [1], "label": [1]})} if labelled else {}
    v = check_shadow(one, one.with_columns(ms=pl.lit(40.0)), id="rid", prediction="pred", latency="ms", error="err",
                     by="region", mode=mode, **kwargs).verdict
    assert v.decision == "hold"
    assert all(c.status == "insufficient" for c in v.checks) and len(v.checks) == 2 + 2 * labelled
    assert v.reasons[0] == "insufficient data for p95 latency ratio: 1 of the 1,000 requests needed."


def test_lowered_minimums_still_never_judge_latency_on_fewer_values_than_its_bounds_need():
    """With min_requests=1 one slow request was a confident rollback (and a fast one a promote):
    the p95's order-statistic bounds clipped to one value cover nothing like the stated level."""
    guard = Guardrails(min_requests=1, min_labelled=1, min_support=1, require_accuracy=False)
    rng = np.random.default_rng(0)
    for n, slower in ((1, 3.0), (1, 1.05), (20, 3.0)):
        prod = pl.DataFrame({"rid": np.arange(n), "ms": rng.gamma(4, 10, n)})
        cand = prod.with_columns(pl.col("ms") * slower)
        v = check_shadow(prod, cand, id="rid", latency="ms", guardrails=guard).verdict
        (lat,) = v.checks
        assert (v.decision, lat.status) == ("hold", "insufficient")
        assert lat.needed == min_sample(0.95, 1 - v.levels["alpha_promote"]) > n
        assert v.reasons[0] == f"insufficient data for p95 latency ratio: {n:,} of the {lat.needed:,} requests needed."
    n = 200  # enough for the bounds: a 3x slower candidate is rolled back
    prod = pl.DataFrame({"rid": np.arange(n), "ms": rng.gamma(4, 10, n)})
    v = check_shadow(prod, prod.with_columns(pl.col("ms") * 3), id="rid", latency="ms", guardrails=guard).verdict
    assert v.decision == "rollback"


@pytest.mark.parametrize(("p", "confidence"), [(0.95, 0.95), (0.5, 0.9), (0.99, 0.95), (0.95, 1 - 0.05 / 168),
                                               (0.05, 0.99)])
def test_min_sample_is_the_fewest_values_whose_order_statistics_bound_each_side_at_the_level(p, confidence):
    """The verdict uses each bound one-sided: below the level, P(B < l) and P(B >= u) must each be
    at most (1 - confidence) / 2 (B ~ Binomial(n, p), the values below the p-quantile)."""
    tail = (1 - confidence) / 2

    def both_tails_hold(n: int) -> bool:
        lo, hi = order_statistic_ranks(n, p, confidence)
        return binom.cdf(lo - 1, n, p) <= tail + 1e-12 and binom.sf(hi - 1, n, p) <= tail + 1e-12

    n = min_sample(p, confidence)
    assert both_tails_hold(n) and both_tails_hold(n + 1)
    assert not any(both_tails_hold(m) for m in range(max(1, n - 5), n))


def _timed_logs() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two small logs with an aware (UTC) timestamp and a retry on each side."""
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    log = pl.DataFrame({"rid": [1, 2, 3, 3], "ts": [t0 + dt.timedelta(minutes=m) for m in (0, 1, 2, 3)],
                        "pred": [0, 1, 1, 0]})
    return log, log.clone()


def _on(engine: str, con, *frames: pl.DataFrame):
    return frames if engine == "polars" else tuple(con.from_arrow(f.to_arrow()) for f in frames)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
@pytest.mark.parametrize("naive_side", ["production", "candidate"])
def test_a_naive_timestamp_beside_an_aware_one_is_refused_naming_both_and_the_fix(engine, naive_side):
    import duckdb

    prod, cand = _timed_logs()
    naive = {"production": prod, "candidate": cand}[naive_side].with_columns(pl.col("ts").dt.replace_time_zone(None))
    prod, cand = (naive, cand) if naive_side == "production" else (prod, naive)
    aware_side = {"production": "candidate", "candidate": "production"}[naive_side]
    fix = {"polars": "pl.col('ts').dt.replace_time_zone('UTC')",
           "duckdb": """rel.project("* REPLACE (timezone('UTC', "ts") AS "ts")")"""}[engine]
    with pytest.raises(InputError, match=re.escape(
            f"Mixed naive and time-zone-aware timestamps: timestamp 'ts' is in UTC in the {aware_side} log but naive "
            f"in the {naive_side} log. Make them agree, e.g. {fix} on the {naive_side} log if its times are UTC.")):
        check_shadow(*_on(engine, duckdb.connect(), prod, cand), id="rid", timestamp="ts", prediction="pred")


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_label_time_and_as_of_naive_beside_aware_are_refused_with_the_fix_on_the_engine(engine):
    import duckdb

    prod, cand = _timed_logs()
    labels = prod.unique("rid").select("rid", label="pred", label_time="ts")
    con = duckdb.connect()
    logs = _on(engine, con, prod, cand)
    kwargs = {"id": "rid", "prediction": "pred", "label_time": "label_time"}
    with pytest.raises(InputError, match=re.escape(
            "Mixed naive and time-zone-aware timestamps: as_of (2026-03-01 00:02:00) is naive but the labels' "
            "label_time 'label_time' is in UTC. Pass as_of with its time zone, e.g. '2026-03-01T00:02:00+00:00' "
            "if it is UTC.")):
        check_shadow(*logs, labels=_on(engine, con, labels)[0], as_of=dt.datetime(2026, 3, 1, 0, 2), **kwargs)
    naive = labels.with_columns(pl.col("label_time").dt.replace_time_zone(None))
    fix = {"polars": "pl.col('label_time').dt.replace_time_zone('UTC')",
           "duckdb": """rel.project("* REPLACE (timezone('UTC', "label_time") AS "label_time")")"""}[engine]
    with pytest.raises(InputError, match=re.escape(
            "Mixed naive and time-zone-aware timestamps: the labels' label_time 'label_time' is naive but as_of "
            f"(2026-03-01 00:02:00+00:00) is time-zone aware. Make them agree, e.g. {fix} on the labels if their "
            "times are UTC, or a naive as_of ('2026-03-01T00:02:00').")):
        check_shadow(*logs, labels=_on(engine, con, naive)[0], as_of="2026-03-01T00:02:00+00:00", **kwargs)


def test_the_suggested_fixes_make_the_times_agree():
    import duckdb

    prod, cand = _timed_logs()
    naive = cand.with_columns(pl.col("ts").dt.replace_time_zone(None))
    fixed = naive.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    kwargs = {"id": "rid", "timestamp": "ts", "prediction": "pred", "guardrails": OPS_ONLY}
    expected = check_shadow(prod, cand, **kwargs).parameters["coverage"]
    assert check_shadow(prod, fixed, **kwargs).parameters["coverage"] == expected
    con = duckdb.connect()
    rel = con.from_arrow(naive.to_arrow())
    fixed_rel = rel.project("""* REPLACE (timezone('UTC', "ts") AS "ts")""")
    assert check_shadow(con.from_arrow(prod.to_arrow()), fixed_rel, **kwargs).parameters["coverage"] == expected


def test_duckdb_relations_of_two_connections_are_refused_naming_the_inputs_and_the_fix():
    import duckdb

    prod, cand = _timed_logs()
    one, other = duckdb.connect(), duckdb.connect()
    with pytest.raises(InputError, match=re.escape(
            "the production log and the candidate log are duckdb relations of two different connections, which "
            "duckdb cannot join; create both from one connection, e.g. con = duckdb.connect(); "
            "con.read_parquet(production_path) and con.read_parquet(candidate_path).")):
        check_shadow(one.from_arrow(prod.to_arrow()), other.from_arrow(cand.to_arrow()), id="rid", prediction="pred")
    labels = other.from_arrow(prod.unique("rid").select("rid", label="pred").to_arrow())
    with pytest.raises(InputError, match=re.escape(
            "labels are a duckdb relation of another connection than the production and candidate logs, which "
            "duckdb cannot join; create all three from one connection, e.g. con.read_parquet(labels_path) with the "
            "con that reads the logs.")):
        check_shadow(one.from_arrow(prod.to_arrow()), one.from_arrow(cand.to_arrow()), id="rid", prediction="pred",
                     labels=labels)
    labels = one.from_arrow(prod.unique("rid").select("rid", label="pred").to_arrow())
    same = check_shadow(one.from_arrow(prod.to_arrow()), one.from_arrow(cand.to_arrow()), id="rid",
                        prediction="pred", labels=labels)
    assert same.parameters["coverage"]["matched"] == 3
