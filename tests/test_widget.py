"""The leakage widget renders a result's tables and never recomputes."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.widgets import LeakageAuditWidget


def test_widget_lists_leaky_features_and_shows_their_lags(churn_result):
    widget = LeakageAuditWidget.from_result(churn_result)
    assert set(widget.features) == {"total_spend", "balance", "txn_count_7d"}
    hist = churn_result.to_polars("lag_histogram")
    for feature in widget.features:
        widget.picker.value = feature
        expected = hist.filter(pl.col("feature") == feature)["rows"].sum()
        assert sum(sum(trace.y) for trace in widget.lag_plot.data) == expected
        assert feature in widget.lag_plot.layout.title.text
        assert "<table>" in widget.examples.value


def test_widget_renders_as_a_widget_bundle(churn_result):
    bundle = LeakageAuditWidget(churn_result)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_widget_on_a_clean_result_has_no_picker_section(clean_result):
    widget = LeakageAuditWidget(clean_result)
    assert widget.features == []
    assert widget.picker not in widget.widget.children


def test_widget_rejects_other_checks(churn_result):
    from workbench.findings import CheckResult

    with pytest.raises(ValueError, match="shows leakage results"):
        LeakageAuditWidget(CheckResult("drift", (), ()))


def test_widget_shows_a_leaking_features_stale_rows_with_their_age_but_does_not_list_stale_only_features(
        churn_result):
    from workbench.widgets.leakage import examples_html

    examples = churn_result.to_polars("examples")
    stale = set(examples.filter(pl.col("kind") == "stale_feature")["feature"])
    widget = LeakageAuditWidget(churn_result)
    assert "support_tickets" in stale and "support_tickets" not in widget.features
    html = examples_html(churn_result, "support_tickets")
    assert "<th>age_hours</th>" in html and html.count("<td>stale_feature</td>") == min(
        20, examples.filter(pl.col("feature") == "support_tickets").height)
