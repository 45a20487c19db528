"""Shadow/canary verdict: guardrails, repeated looks, stage plans, paired intervals, canary mode."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from test_shadow_foundation import labelled_logs, shadow_logs

from workbench.errors import ConfigError, InputError
from workbench.shadow import GuardrailCheck, Guardrails, check_shadow, decide, paired_difference
from workbench.shadow.verdict import judge
from workbench.stats import two_proportions

OPS_ONLY = Guardrails(require_accuracy=False)


def test_paired_difference_is_the_discordant_difference_and_covers_it():
    assert paired_difference(10, 7, 3, 100)[0] == pytest.approx(-0.04)
    rng = np.random.default_rng(0)
    cells = np.array([0.05, 0.03, 0.06, 0.86])  # both, only first, only second, neither
    true = cells[2] - cells[1]
    # phi*'s continuity correction makes the interval conservative on small samples (~98% at n=60 in 20,000 runs)
    for n, least, most in ((60, 0.95, 0.99), (400, 0.935, 0.975)):
        covered = 0
        for _ in range(2000):
            a, b, c, _ = rng.multinomial(n, cells)
            _, lo, hi = paired_difference(a, b, c, n)
            covered += lo <= true <= hi
        assert least <= covered / 2000 <= most, (n, covered)


def test_paired_difference_is_narrower_than_the_unpaired_one_when_outcomes_correlate():
    _, lo, hi = paired_difference(900, 20, 40, 10_000)
    _, ulo, uhi, _ = two_proportions(920, 10_000, 940, 10_000)
    assert hi - lo < 0.5 * (uhi - ulo)


def test_slow_failing_candidate_is_rolled_back_with_the_reasons():
    prod, cand = shadow_logs(1, slower=3.0, flips_in_eu=0.2, error_rate=0.03)
    result = check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err", by="region",
                          guardrails=OPS_ONLY, stage=0.05)
    v = result.verdict
    assert v.decision == "rollback" and v.exit_code == 1 and v.next_stage == 0.0
    assert [c.guardrail for c in v.checks if c.status == "breached"] == ["latency_p95", "error_rate"]
    assert v.reasons[0].startswith("p95 latency ratio is 3.00x, beyond the tolerance of 1.20x")
    doc = result.to_dict()
    assert doc["verdict"]["decision"] == "rollback" and doc["verdict"]["exit_code"] == 1


def test_same_model_twice_is_promoted_to_the_next_stage():
    prod, cand = shadow_logs(10)
    v = check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err", guardrails=OPS_ONLY,
                     stage=0.05).verdict
    assert v.decision == "promote" and v.next_stage == 0.25
    assert {c.status for c in v.checks} == {"within"}
    assert v.reasons[-1] == "Stage plan: advance from 5% to 25% of traffic."


def test_little_data_holds_with_insufficient_data_never_a_confident_verdict():
    prod, cand = shadow_logs(1, slower=3.0, error_rate=0.2)
    v = check_shadow(prod.head(300), cand.head(300), id="rid", latency="ms", error="err",
                     guardrails=OPS_ONLY).verdict
    assert v.decision == "hold" and v.exit_code == 3
    assert v.reasons[0].startswith("insufficient data for p95 latency ratio: 300 of the 1,000 requests needed")


def test_an_unproven_guardrail_holds_and_says_how_much_more_data_would_settle_it():
    prod, cand = shadow_logs(2, slower=1.15)  # 15% slower: within 1.2x, but 2,000 requests cannot show it
    v = check_shadow(prod.head(2000), cand.head(2000), id="rid", latency="ms", guardrails=OPS_ONLY).verdict
    assert v.decision == "hold"
    (lat,) = [c for c in v.checks if c.guardrail == "latency_p95"]
    assert lat.status == "unproven" and lat.harm_low < 1.2 < lat.harm_high
    assert "more requests would probably settle it" in lat.message


def test_missing_labels_and_coverage_gaps_hold():
    prod, cand = shadow_logs(10, missing=500)
    v = check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err").verdict
    assert v.decision == "hold"
    assert any(r.startswith("coverage: the candidate has no record of 500 of production's 20,000") for r in v.reasons)
    assert any(r.startswith("accuracy not checked: no labels") for r in v.reasons)


def test_logs_with_no_common_request_hold_with_a_critical_coverage_finding():
    prod, cand = shadow_logs(3)
    cand = cand.with_columns(pl.col("rid") + "-x")
    result = check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err", guardrails=OPS_ONLY)
    assert result.verdict.decision == "hold"
    assert any("mode='canary'" in r for r in result.verdict.reasons)
    (gap,) = result.by_kind("coverage_gap")
    assert gap.severity == "critical" and "mode='canary'" in gap.suggestion


def test_a_guardrail_finding_is_critical_exactly_when_its_guardrail_rolls_back():
    prod, cand = shadow_logs(1, slower=3.0)
    rolled = check_shadow(prod, cand, id="rid", latency="ms", error="err", guardrails=OPS_ONLY)
    assert rolled.verdict.decision == "rollback" and rolled.max_severity == "critical"
    assert [(f.kind, f.severity) for f in rolled.findings] == [("latency_regression", "critical")]
    # the same 3x slower p95, but too few requests for the guardrail: the verdict holds, the finding warns
    held = check_shadow(prod, cand, id="rid", latency="ms", error="err",
                        guardrails=Guardrails(require_accuracy=False, min_requests=50_000))
    assert held.verdict.decision == "hold" and held.max_severity == "warning"
    (finding,) = held.by_kind("latency_regression")
    assert finding.metrics["effect"] == pytest.approx(rolled.by_kind("latency_regression")[0].metrics["effect"])


def test_a_guardrail_breached_without_a_finding_gets_a_critical_one():
    # the only guardrail: its rollback bound is one-sided at 5% (90% two-sided), the finding's interval 95%
    # two-sided; 100 both / 100 only production / 230 only candidate of 20,000 fall between the two
    n = 20_000
    ids = np.arange(n)
    prod = pl.DataFrame({"rid": ids, "err": ids < 200})
    cand = pl.DataFrame({"rid": ids, "err": (ids < 100) | ((ids >= 200) & (ids < 430))})
    _, low95, _ = paired_difference(100, 100, 230, n, 0.95)
    _, low90, _ = paired_difference(100, 100, 230, n, 0.90)
    assert low95 < 0.005 < low90
    result = check_shadow(prod, cand, id="rid", error="err", guardrails=OPS_ONLY)
    (check,) = result.verdict.checks
    assert (result.verdict.decision, check.status) == ("rollback", "breached")
    (finding,) = result.findings
    assert (finding.kind, finding.severity, finding.subject, finding.scope) == ("error_rate_regression", "critical",
                                                                              "err", {})
    assert finding.metrics["effect"] == pytest.approx(130 / n)
    assert finding.metrics["bound"] == pytest.approx(low90) and finding.metrics["n"] == n
    assert finding.message.startswith("The candidate's error-rate increase is +0.65 points, beyond the tolerance")


def test_the_coverage_gap_warns_when_it_holds_the_verdict():
    prod, cand = shadow_logs(3, missing=300)  # 1.5% of production's requests
    held = check_shadow(prod, cand, id="rid", latency="ms", guardrails=OPS_ONLY)
    assert any(r.startswith("coverage:") for r in held.verdict.reasons)
    assert held.by_kind("coverage_gap")[0].severity == "warning"
    tolerant = check_shadow(prod, cand, id="rid", latency="ms",
                            guardrails=Guardrails(require_accuracy=False, max_coverage_gap=0.02))
    assert not any(r.startswith("coverage:") for r in tolerant.verdict.reasons)
    assert tolerant.by_kind("coverage_gap")[0].severity == "info"


def test_a_null_segment_is_scoped_as_in_the_agreement_table():
    prod, cand, labels = labelled_logs(5, acc_c_eu=0.75, acc_c_rest=0.86)
    prod, cand = (f.with_columns(pl.col("region").replace("apac", None)) for f in (prod, cand))
    result = check_shadow(prod, cand, id="rid", prediction="pred", by="region", labels=labels)
    scopes = set(result.to_polars("accuracy")["scope"])
    assert scopes == set(result.to_polars("agreement")["scope"]) == {"all", "region=eu", "region=us", "region=None"}


def test_candidate_better_overall_but_worse_in_one_segment_is_rolled_back():
    prod, cand, labels = labelled_logs(5, acc_c_eu=0.75, acc_c_rest=0.86)
    v = check_shadow(prod, cand, id="rid", prediction="pred", by="region", labels=labels,
                     guardrails=Guardrails(looks=168)).verdict
    assert v.decision == "rollback"
    assert [(c.scope, c.status) for c in v.checks if c.status != "within"] == [("region=eu", "breached")]
    overall = next(c for c in v.checks if c.scope == "all")
    assert overall.estimate < 0  # better overall


def test_canary_mode_compares_two_samples_and_reads_the_stage_from_the_traffic_share():
    rng = np.random.default_rng(8)
    n_base, n_canary = 95_000, 5_000
    base = pl.DataFrame({"rid": np.arange(n_base), "ms": rng.gamma(4, 10, n_base), "err": rng.random(n_base) < 0.01})
    canary = pl.DataFrame({"rid": np.arange(n_base, n_base + n_canary), "ms": rng.gamma(4, 10, n_canary) * 1.6,
                           "err": rng.random(n_canary) < 0.01})
    result = check_shadow(base, canary, id="rid", latency="ms", error="err", mode="canary", guardrails=OPS_ONLY,
                          stages=(0.01, 0.05, 0.25, 1.0))
    v = result.verdict
    assert v.stage == 0.05 and v.decision == "rollback"
    assert [c.guardrail for c in v.checks if c.status == "breached"] == ["latency_p95"]
    assert not result.by_kind("coverage_gap")
    errs = result.to_polars("errors")
    k = {r["side"]: (r["errors"], r["n"]) for r in errs.iter_rows(named=True)}
    expected = two_proportions(*k["production"], *k["candidate"])
    assert errs["increase_low"][0] == pytest.approx(expected[1])


def test_canary_accuracy_is_unpaired():
    prod, cand, labels = labelled_logs(5, acc_c_eu=0.75, acc_c_rest=0.86)
    result = check_shadow(prod, cand, id="rid", prediction="pred", by="region", labels=labels, mode="canary")
    eu = result.to_polars("accuracy").filter(pl.col("scope") == "region=eu").row(0, named=True)
    expected = two_proportions(eu["right_production"], eu["n_production"], eu["right_candidate"], eu["n_candidate"])
    assert (eu["difference"], eu["difference_low"], eu["p_value"]) == pytest.approx(
        (expected[0], expected[1], expected[3]))


def _week_of_null_canary(rng, looks: int, hourly: int, tolerance: float) -> tuple[bool, bool]:
    """Hourly cumulative checks of a canary identical to production (two independent samples):
    error rate 2%, accuracy 80%. Returns (ever rolled back with looks-adjusted levels, ever rolled
    back with a single-look level) — tolerances set to ``tolerance`` (0 = the strictest)."""
    guard = Guardrails(error_increase=tolerance, accuracy_drop=tolerance, min_requests=1, min_labelled=1,
                       looks=looks)
    naive = Guardrails(error_increase=tolerance, accuracy_drop=tolerance, min_requests=1, min_labelled=1)
    err = rng.binomial(hourly, 0.02, size=(looks, 2)).cumsum(axis=0)
    right = rng.binomial(hourly, 0.8, size=(looks, 2)).cumsum(axis=0)
    ever, ever_naive = False, False
    for t in range(looks):
        n = hourly * (t + 1)
        for g, flag in ((guard, "adjusted"), (naive, "naive")):
            a = g.alpha_rollback(2)
            err_low = two_proportions(err[t, 0], n, err[t, 1], n, 1 - 2 * a)[1]
            acc_high = two_proportions(right[t, 0], n, right[t, 1], n, 1 - 2 * a)[2]
            checks = [GuardrailCheck("error_rate", "all", n, 0, math.nan, tolerance, err_low, math.inf, "points"),
                      GuardrailCheck("accuracy", "all", n, 0, math.nan, tolerance, -acc_high, math.inf, "points")]
            rolled = decide(checks, g).decision == "rollback"
            if flag == "adjusted":
                ever |= rolled
            else:
                ever_naive |= rolled
    return ever, ever_naive


@pytest.mark.slow
def test_hourly_checks_of_a_null_canary_over_a_week_keep_the_documented_rollback_rate():
    rng = np.random.default_rng(11)
    weeks = [_week_of_null_canary(rng, looks=168, hourly=200, tolerance=0.0) for _ in range(300)]
    adjusted = sum(a for a, _ in weeks) / len(weeks)
    naive = sum(b for _, b in weeks) / len(weeks)
    assert adjusted <= 0.05 + 0.02  # documented: at most 1 - confidence over all planned looks
    assert naive > 0.10  # without accounting for the looks, the same week often rolls back


def test_judge_statuses_follow_the_documented_rule():
    def check(low, high, n=1000, overall=True, flagged=False):
        return judge(GuardrailCheck("error_rate", "all", n, 500, 0.001, 0.005, low, high, "points", overall,
                                    flagged))

    assert check(0.006, 0.02).status == "breached"
    assert check(-0.001, 0.004).status == "within"
    assert check(-0.001, 0.009).status == "unproven"
    assert check(0.006, 0.02, n=100).status == "insufficient"
    assert check(0.001, 0.02, overall=False).status == "within"
    assert check(0.001, 0.02, overall=False, flagged=True).status == "suspect"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"mode": "split"}, ConfigError, r"mode must be one of \['shadow', 'canary'\]"),
        ({"stages": (0.5, 0.1)}, ConfigError, "stages must be increasing"),
        ({"guardrails": "strict"}, ConfigError, "guardrails must be a Guardrails"),
    ],
)
def test_check_shadow_rejects_bad_options(kwargs, error, message):
    prod, cand = shadow_logs(0)
    with pytest.raises(error, match=message):
        check_shadow(prod, cand, id="rid", latency="ms", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"looks": 0}, "The 'looks' parameter of Guardrails must be an integer of at least 1"),
     ({"latency_ratio": 0.8}, "latency_ratio is candidate / production"),
     ({"error_increase": 2}, r"The 'error_increase' parameter of Guardrails must be a proportion in \[0, 1\)")],
)
def test_guardrails_reject_nonsense(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Guardrails(**kwargs)


def test_null_latencies_are_counted_not_silently_dropped():
    prod, cand = shadow_logs(4)
    cand = cand.with_columns(pl.when(pl.col("err")).then(None).otherwise(pl.col("ms")).alias("ms"))
    result = check_shadow(prod, cand, id="rid", latency="ms", error="err", guardrails=OPS_ONLY)
    (f,) = result.by_kind("missing_latency")
    assert f.metrics["candidate"] == int(cand["err"].sum()) and f.metrics["production"] == 0


def test_labels_with_another_id_type_are_rejected():
    prod, cand, labels = labelled_logs(7, 0.8, 0.8)
    with pytest.raises(InputError, match="labels: 'rid' is Int64 but String in the logs"):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=labels.filter(pl.col("rid") != "zz1")
                     .with_columns(pl.col("rid").cast(pl.Int64)))


def test_score_deltas_equal_numpy_on_the_same_requests():
    rng = np.random.default_rng(12)
    n = 5000
    ids = np.arange(n)
    region = rng.choice(["a", "b"], n)
    s_p = rng.random(n).round(4)
    s_c = np.clip(s_p + rng.normal(0, 0.08, n) * (region == "b"), 0, 1).round(4)
    prod = pl.DataFrame({"rid": ids, "region": region, "s": s_p})
    cand = pl.DataFrame({"rid": ids, "region": region, "s": s_c})
    table = check_shadow(prod, cand, id="rid", score="s", by="region", guardrails=OPS_ONLY).to_polars("scores")
    for scope, mask in (("all", np.ones(n, bool)), ("region=a", region == "a"), ("region=b", region == "b")):
        d = (s_c - s_p)[mask]
        row = table.filter(pl.col("scope") == scope).row(0, named=True)
        assert row["n"] == mask.sum()
        assert row["mean_delta"] == pytest.approx(d.mean())
        assert row["mean_abs_delta"] == pytest.approx(np.abs(d).mean())
        half = 1.959964 * d.std(ddof=1) / np.sqrt(len(d))
        assert row["mean_delta_low"] == pytest.approx(d.mean() - half, abs=1e-9)
        assert row["share_large"] == pytest.approx((np.abs(d) > 0.1 + 1e-9).mean(), abs=2 / n)
        for q in (50, 90, 99):
            exact = np.quantile(np.abs(d), q / 100, method="inverted_cdf")
            assert exact - 1e-9 <= row[f"abs_delta_p{q}"] <= exact + 1e-3 + 1e-9  # upper bin edge, 0.001 bins
    assert table.filter(pl.col("scope") == "region=a")["abs_delta_p99"].item() == 0.0  # unchanged scores


def test_empty_logs_hold_for_insufficient_data_and_a_text_timestamp_is_refused():
    prod, cand = shadow_logs(1)
    v = check_shadow(prod.head(0), cand.head(0), id="rid", latency="ms", error="err", guardrails=OPS_ONLY).verdict
    assert v.decision == "hold" and all(c.status == "insufficient" for c in v.checks)
    assert any(r.startswith("insufficient data: no request is in both logs") for r in v.reasons)
    with pytest.raises(InputError, match="timestamp column 'ts' must be a datetime or date, got String"):
        check_shadow(prod.with_columns(ts=pl.lit("2026-03-01")), cand.with_columns(ts=pl.lit("2026-03-01")),
                     id="rid", timestamp="ts")


@pytest.mark.slow
def test_a_null_canary_checked_hourly_for_a_week_through_check_shadow_is_never_rolled_back():
    """The whole path (reconcile, errors, latency, accuracy, verdict) on cumulative hourly logs of
    the same model on both sides of a split, with the planned looks declared."""
    rng = np.random.default_rng(21)
    hours, hourly = 168, 150
    n = hours * hourly
    hour = np.repeat(np.arange(hours), hourly)
    side = rng.random(n) < 0.5
    y = rng.integers(0, 2, n)
    frame = pl.DataFrame({"rid": np.arange(n), "hour": hour, "region": rng.choice(["a", "b", "c"], n),
                          "pred": np.where(rng.random(n) < 0.8, y, 1 - y), "ms": rng.gamma(4, 10, n),
                          "err": rng.random(n) < 0.02})
    labels = pl.DataFrame({"rid": np.arange(n), "label": y})
    guard = Guardrails(looks=hours, min_requests=200, min_labelled=200)
    decisions = []
    for h in range(1, hours + 1):
        now = frame.filter(pl.col("hour") < h)
        v = check_shadow(now.filter(pl.Series(side[: now.height])), now.filter(~pl.Series(side[: now.height])),
                         id="rid", prediction="pred", latency="ms", error="err", by="region", labels=labels,
                         mode="canary", guardrails=guard).verdict
        decisions.append(v.decision)
        if h == hours:
            assert v.levels["looks"] == hours
            assert v.levels["alpha_rollback"] == pytest.approx(0.05 / (v.levels["tests"] * hours))
    assert "rollback" not in decisions
    assert decisions[0] == "hold"  # the first hour is too little data
