"""The explorers: what they share (from_result, the refusal naming the right explorer, explore(),
the findings header, no statistics), and the leakage explorer in detail. Each renders a result's
tables and never recomputes."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_performance_sample import DATA as PERFORMANCE
from test_shadow_foundation import shadow_logs

from workbench.drift import check_drift
from workbench.errors import ConfigError
from workbench.findings import CheckResult
from workbench.findings.html import result_html
from workbench.performance import check_calibration, check_subgroups
from workbench.shadow import check_shadow
from workbench.widgets import (
    EXPLORERS,
    CalibrationExplorer,
    DriftExplorer,
    LeakageExplorer,
    ShadowExplorer,
    SubgroupExplorer,
    explore,
)
from workbench.widgets.base import EXPLORER_OF

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGETS = Path(__file__).resolve().parents[1] / "workbench" / "widgets"


@pytest.fixture(scope="module")
def results(churn_result) -> dict[str, CheckResult]:
    """One real result of each check an explorer shows, small enough to build in a few seconds."""
    rng = np.random.default_rng(5)
    frame = pl.DataFrame({"x": rng.normal(0, 1, 600), "kind": rng.choice(["a", "b"], 600)})
    scores = pl.DataFrame({"p": rng.uniform(0, 1, 2000)}).with_columns(
        y=(pl.Series(rng.uniform(0, 1, 2000)) < pl.col("p")).cast(pl.Int8))
    prod, cand = shadow_logs(3, slower=2.0)
    return {
        "leakage": churn_result,
        "drift": check_drift(frame, frame.with_columns(x=pl.col("x") + 1)),
        "shadow": check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err", by="region"),
        "performance": check_subgroups(pl.read_parquet(PERFORMANCE / "reference.parquet"), target="label",
                                       prediction="prediction", by="region"),
        "calibration": check_calibration(scores, scores, score="p", target="y", min_support=10),
    }


@pytest.mark.parametrize("check", sorted(EXPLORER_OF))
def test_each_explorer_opens_its_result_from_result_and_renders_it(results, check):
    result = results[check]
    explorer = EXPLORERS[check].from_result(result)
    assert type(explorer).__name__ == EXPLORER_OF[check]
    assert explorer.result is result
    assert WIDGET_MIME in explorer._repr_mimebundle_()
    header = explorer.widget.children[0].value
    assert header == result_html(result)  # the shared header: the result's findings table
    assert header.index("class='wb-glance") < header.index("<table>")  # the glance above it
    assert header.count("class='wb-tile ") == len(result.glance().tiles) > 0
    assert len(explorer.widget.children) > 1


@pytest.mark.parametrize("check", sorted(EXPLORER_OF))
def test_explore_dispatches_on_the_check(results, check):
    explorer = explore(results[check])
    assert type(explorer) is EXPLORERS[check]
    assert explorer.result is results[check]


def test_the_dispatch_table_and_the_names_in_the_errors_agree():
    assert {check: cls.__name__ for check, cls in EXPLORERS.items()} == EXPLORER_OF
    assert all(check in cls.checks for check, cls in EXPLORERS.items())
    assert [cls.__name__ for cls in EXPLORERS.values()] == [
        "LeakageExplorer", "DriftExplorer", "ShadowExplorer", "SubgroupExplorer", "CalibrationExplorer"]


def test_a_drift_result_given_to_the_shadow_explorer_names_the_drift_explorer(results):
    with pytest.raises(ConfigError) as err:
        ShadowExplorer.from_result(results["drift"])
    assert str(err.value) == ("ShadowExplorer shows 'shadow' results, got a 'drift' result: open it with "
                              "DriftExplorer.from_result(result), or workbench.widgets.explore(result) for any result.")


@pytest.mark.parametrize("explorer", [LeakageExplorer, DriftExplorer, ShadowExplorer, SubgroupExplorer,
                                      CalibrationExplorer], ids=lambda c: c.__name__)
def test_every_explorer_refuses_other_results_naming_the_right_explorer(explorer):
    for check, right in EXPLORER_OF.items():
        if check in explorer.checks:
            continue
        with pytest.raises(ConfigError, match=rf"^{explorer.__name__} shows .* results, got a '{check}' result: "
                                              rf"open it with {right}\.from_result\(result\)"):
            explorer.from_result(CheckResult(check, (), ()))
        with pytest.raises(ConfigError, match=rf"open it with {right}\.from_result"):
            explorer(CheckResult(check, (), ()))  # the constructor checks too


def test_a_result_without_the_tables_an_explorer_reads_is_refused():
    with pytest.raises(ConfigError, match=r"^DriftExplorer reads the table\(s\) \['columns', 'bins', 'schema'\] of "
                                          r"the result; this 'drift' result has no tables\. Pass the result the check "
                                          r"returned \(a result read back from findings JSON has no tables\)\.$"):
        DriftExplorer.from_result(CheckResult("drift", (), ()))


def test_explore_refuses_a_check_no_explorer_shows():
    skew = CheckResult("skew", (), (), tables={"features": pl.DataFrame({"feature": ["x"]})})
    with pytest.raises(ConfigError, match=r"^explore: no explorer shows 'skew' results \(explorers show calibration, "
                                          r"drift, leakage, performance, shadow\); display the result itself"):
        explore(skew)
    with pytest.raises(ConfigError, match=r"^DriftExplorer shows 'drift' results, got a 'skew' result: no explorer "
                                          r"shows 'skew' results"):
        DriftExplorer.from_result(skew)


def test_the_subgroup_explorer_takes_its_metric_through_from_result(results):
    explorer = SubgroupExplorer.from_result(results["performance"], metric="f1")
    assert explorer.metric == "f1"
    assert SubgroupExplorer.from_result(results["performance"]).metric == "accuracy"


def test_explorers_import_no_statistics():
    """A widget renders: it imports the findings, the figures and the notebook packages, never
    numpy, scipy, the statistics, the engine or a check."""
    allowed = {"__future__", "html", "typing", "polars", "ipywidgets", "plotly", "workbench"}
    allowed_parts = {"errors", "findings", "present", "widgets"}
    for path in sorted(WIDGETS.glob("*.py")):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        for name in names:
            parts = name.split(".")
            assert parts[0] in allowed, f"{path.name} imports {name}"
            if parts[0] == "workbench":
                assert len(parts) > 1 and parts[1] in allowed_parts, f"{path.name} imports {name}"


# -- the leakage explorer --------------------------------------------------------------------


def test_widget_lists_leaky_features_and_shows_their_lags(churn_result):
    widget = LeakageExplorer.from_result(churn_result)
    assert set(widget.features) == {"total_spend", "balance", "txn_count_7d"}
    hist = churn_result.to_polars("lag_histogram")
    for feature in widget.features:
        widget.picker.value = feature
        expected = hist.filter(pl.col("feature") == feature)["rows"].sum()
        assert sum(sum(trace.y) for trace in widget.lag_plot.data) == expected
        assert feature in widget.lag_plot.layout.title.text
        assert "<table>" in widget.examples.value


def test_widget_renders_as_a_widget_bundle(churn_result):
    bundle = LeakageExplorer.from_result(churn_result)._repr_mimebundle_()
    assert WIDGET_MIME in bundle


def test_widget_on_a_clean_result_has_no_picker_section(clean_result):
    widget = LeakageExplorer.from_result(clean_result)
    assert widget.features == []
    assert widget.picker not in widget.widget.children


def test_widget_rejects_other_checks():
    with pytest.raises(ConfigError, match=r"LeakageExplorer shows 'leakage' results, got a 'drift' result: open it "
                                          r"with DriftExplorer\.from_result\(result\)"):
        LeakageExplorer.from_result(CheckResult("drift", (), ()))


def test_widget_shows_a_leaking_features_stale_rows_with_their_age_but_does_not_list_stale_only_features(
        churn_result):
    from workbench.widgets.leakage import examples_html

    examples = churn_result.to_polars("examples")
    stale = set(examples.filter(pl.col("kind") == "stale_feature")["feature"])
    widget = LeakageExplorer.from_result(churn_result)
    assert "support_tickets" in stale and "support_tickets" not in widget.features
    html = examples_html(churn_result, "support_tickets")
    assert "<th>age_hours</th>" in html and html.count("<td>stale_feature</td>") == min(
        20, examples.filter(pl.col("feature") == "support_tickets").height)
