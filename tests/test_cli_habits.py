"""The habits people bring to the command line (issue 21): list parameters as ``a,b``, typos caught with
"did you mean", errors naming the right input, a naive time with the fix, and a time column left in the
data reported as what it is rather than as drift."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from tests.conftest import ROOT
from workbench import check_drift
from workbench.cli import main
from workbench.errors import ConfigError
from workbench.reports import templates

MONITORING = ROOT / "sample_data" / "monitoring"
PERFORMANCE = ROOT / "sample_data" / "performance"


# -- report run -p NAME a,b ------------------------------------------------------------------------
def test_a_list_parameter_is_given_as_comma_separated_names():
    drift = templates.find("drift")
    assert templates.check(drift, {"exclude": "request_id,ts"})["exclude"] == ["request_id", "ts"]
    assert templates.check(drift, {"exclude": "request_id"})["exclude"] == ["request_id"]
    assert templates.check(drift, {"by": "region, device"})["by"] == ["region", "device"]
    assert templates.check(drift, {"by": ""})["by"] == []
    assert templates.check(drift, {"exclude": ["a", "b"]})["exclude"] == ["a", "b"]  # a literal list as before
    shadow = templates.find("shadow")
    assert templates.check(shadow, {"stages": "0.01,0.5,1"})["stages"] == [0.01, 0.5, 1]
    assert templates.check(drift, {"window": "1h"})["window"] == "1h"  # text parameters stay text
    with pytest.raises(ConfigError, match=r"parameter 'bins'|has no parameter 'bins'"):
        templates.check(drift, {"bins": "1,2"})


def test_the_cli_reads_p_values_as_literals_then_the_template_splits_lists(monkeypatch):
    import workbench.reports as reports

    seen = {}

    def fake_run(template, parameters, **kwargs):
        seen.update(templates.check(templates.find(template), parameters))
        raise ConfigError("stop here")

    monkeypatch.setattr(reports, "run_report", fake_run)
    assert main(["report", "run", "drift", "-p", "exclude", "request_id,ts", "-p", "by", "['region']"]) == 2
    assert seen["exclude"] == ["request_id", "ts"] and seen["by"] == ["region"]


# -- typos and the input they are in ---------------------------------------------------------------
def test_a_typo_in_exclude_is_an_error_like_a_typo_in_timestamp(capsys):
    base = ["drift", "--reference", str(MONITORING / "reference.parquet"), "--current", str(MONITORING / "current")]
    assert main([*base, "--exclude", "requst_id", "--quiet"]) == 2
    assert ("exclude=['requst_id'] not found in the reference or current. Did you mean 'request_id'?"
            in capsys.readouterr().err)
    assert main([*base, "--timestamp", "tss", "--quiet"]) == 2
    assert "timestamp='tss' is not a column of current. Did you mean 'ts'?" in capsys.readouterr().err


def test_a_score_typo_names_the_inputs_it_is_missing_from(capsys):
    assert main(["drift", "--reference", str(MONITORING / "reference.parquet"), "--current",
                 str(MONITORING / "current"), "--score", "scroe", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "score='scroe' is not a column of the reference or current. Did you mean 'score'?" in err
    assert "reference profile" not in err


def test_a_naive_as_of_suggests_the_utc_offset(capsys):
    assert main(["performance", "--config", str(PERFORMANCE / "performance.yaml"), "--as-of", "2026-03-08T12:00:00",
                 "--quiet"]) == 2
    assert "e.g. '2026-03-08T12:00:00+00:00' if it is UTC" in capsys.readouterr().err


# -- a time column without --timestamp -------------------------------------------------------------
def _logs(start: dt.datetime, n: int = 2000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"x": rng.normal(0, 1, n), "born": [dt.date(1980, 1, 1) + dt.timedelta(days=int(d))
                                                             for d in rng.integers(0, 9000, n)],
                         "ts": [start + dt.timedelta(minutes=i) for i in range(n)]})


def test_a_time_column_without_timestamp_is_a_note_not_drift():
    reference, current = _logs(dt.datetime(2026, 1, 1)), _logs(dt.datetime(2026, 3, 1), seed=1)
    result = check_drift(reference, current)
    assert [(f.kind, f.severity, f.subject) for f in result.findings] == [("time_column", "info", "ts")]
    note = result.findings[0]
    assert note.message == ("Column 'ts' holds times: 100.0% of its current values (2,000 of 2,000) lie after the "
                            "reference's last time (2026-01-02 09:19), as a clock does between two periods. It was "
                            "not compared for drift.")
    assert note.suggestion.startswith("Pass it as the time column to compare current window by window: "
                                      "timestamp='ts' (CLI: --timestamp ts)")
    assert sorted(result.to_polars("columns")["column"].unique()) == ["born", "x"]  # a date in range is compared
    assert "ts" not in result.to_polars("bins")["column"].to_list()
    assert result.glance().headline == "0 of 2 columns drifted, 0 schema changes"


def test_with_a_timestamp_another_clock_column_is_advised_out():
    reference = _logs(dt.datetime(2026, 1, 1)).with_columns(seen=pl.col("ts"))
    current = _logs(dt.datetime(2026, 3, 1), seed=1).with_columns(seen=pl.col("ts"))
    result = check_drift(reference, current, timestamp="ts")
    notes = result.by_kind("time_column")
    assert [n.subject for n in notes] == ["seen"]
    assert notes[0].suggestion == "Leave it out with exclude=['seen'] (CLI: --exclude seen); the time column is 'ts'."
    assert result.at_least("warning") == ()


def test_the_cli_run_without_timestamp_reports_the_time_column(tmp_path, capsys):
    out = tmp_path / "f.json"
    assert main(["drift", "--reference", str(MONITORING / "reference.parquet"), "--current",
                 str(MONITORING / "current"), "--exclude", "request_id", "--out", str(out), "--fail-on", "none"]) == 0
    doc = json.loads(out.read_text())
    on_ts = [(f["kind"], f["severity"]) for f in doc["findings"] if f["subject"] == "ts"]
    assert on_ts == [("time_column", "info")]
    assert "--timestamp ts" in capsys.readouterr().out
