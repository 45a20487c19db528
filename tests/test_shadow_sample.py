"""The shipped shadow scenarios through the Python API and ``workbench shadow``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from workbench.cli import main
from workbench.findings import validate_findings
from workbench.shadow import check_shadow

DATA = Path(__file__).parent.parent / "sample_data" / "shadow"
PLANTED = json.loads((DATA / "planted.json").read_text())
END = dt.datetime.fromisoformat(PLANTED["end"])
ROLES = {"id": "request_id", "timestamp": "ts", "prediction": "prediction", "score": "score",
         "latency": "latency_ms", "error": "error", "by": ["region", "device"]}


def run(candidate: str, **kwargs):
    return check_shadow(DATA / "production.parquet", DATA / f"{candidate}.parquet", labels=DATA / "labels.parquet",
                        label_time="label_time", as_of=END, **ROLES, **kwargs)


@pytest.fixture(scope="module")
def shadow():
    return run("candidate", stage=0.05)


def test_shadow_scenario_is_rolled_back_for_latency_errors_and_the_latam_segment(shadow):
    v = shadow.verdict
    assert v.decision == PLANTED["shadow"]["expected_verdict"] == "rollback"
    breached = {(c.guardrail, c.scope) for c in v.checks if c.status == "breached"}
    assert breached == {("latency_p95", "all"), ("error_rate", "all"), ("accuracy", "region=latam")}
    overall = next(c for c in v.checks if c.guardrail == "accuracy" and c.scope == "all")
    assert overall.estimate < 0  # slightly better overall, as planted
    (dis,) = shadow.by_kind("disagreement")
    assert dis.scope == {"segment": PLANTED["shadow"]["disagreement_segment"]}
    (acc,) = shadow.by_kind("accuracy_regression")
    assert acc.scope == {"segment": PLANTED["shadow"]["worse_segment"]}


def test_shadow_scenario_counts_what_reconciliation_set_aside(shadow):
    prod = pl.read_parquet(DATA / "production.parquet")
    cand = pl.read_parquet(DATA / "candidate.parquet")
    coverage = shadow.parameters["coverage"]
    assert coverage["production_duplicates"] == prod.height - prod["request_id"].n_unique()
    assert coverage["production_only"] == prod["request_id"].n_unique() - cand["request_id"].n_unique()
    labels = pl.read_parquet(DATA / "labels.parquet")
    assert shadow.parameters["pending_labels"] == int((labels["label_time"] > END).sum())


def test_null_scenario_is_promoted_to_the_next_stage():
    v = run("candidate_same", stage=0.05).verdict
    assert v.decision == PLANTED["null"]["expected_verdict"] == "promote"
    assert v.next_stage == 0.25


def test_shadow_cli_exit_status_and_findings_json(tmp_path, capsys):
    args = ["shadow", "--production", str(DATA / "production.parquet"), "--id", "request_id", "--timestamp", "ts",
            "--prediction", "prediction", "--latency", "latency_ms", "--error", "error", "--by", "region",
            "--labels", str(DATA / "labels.parquet"), "--label-time", "label_time", "--as-of", END.isoformat(),
            "--plan-stage", "0.01", "--plan-stage", "0.05", "--plan-stage", "0.25", "--plan-stage", "1",
            "--stage", "0.05"]
    out = tmp_path / "f.json"
    assert main([*args, "--candidate", str(DATA / "candidate.parquet"), "--out", str(out), "--quiet"]) == 1
    doc = json.loads(out.read_text())
    validate_findings(doc)
    assert doc["verdict"]["decision"] == "rollback" and doc["verdict"]["next_stage"] == 0.0
    assert main([*args, "--candidate", str(DATA / "candidate_same.parquet"), "--quiet"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("PROMOTE: p95 latency ratio")
    no_labels = [a for a in args if a not in ("--labels", str(DATA / "labels.parquet"), "--label-time", "label_time",
                                              "--as-of", END.isoformat())]
    assert main([*no_labels, "--candidate", str(DATA / "candidate_same.parquet"), "--quiet"]) == 3
    assert main([*no_labels, "--candidate", str(DATA / "candidate_same.parquet"), "--quiet",
                 "--operations-only"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--id", "rid"], "id='rid' is not a column of the production log"),
     (["--plan-stage", "1", "--plan-stage", "five"], "--plan-stage expects a number; got 'five'"),
     (["--looks", "0"], "The 'looks' parameter of Guardrails must be an integer of at least 1"),
     (["--as-of", "yesterday"], "--as-of expects an ISO time")],
)
def test_shadow_cli_input_errors_exit_2_with_the_fix(extra, message, capsys):
    args = ["shadow", "--production", str(DATA / "production.parquet"), "--candidate",
            str(DATA / "candidate.parquet"), "--id", "request_id", "--latency", "latency_ms", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_shadow_cli_accepts_every_task_of_the_api(task, tmp_path):
    out = tmp_path / "f.json"
    args = ["shadow", "--production", str(DATA / "production.parquet"), "--candidate", str(DATA / "candidate.parquet"),
            "--id", "request_id", "--prediction", "prediction", "--labels", str(DATA / "labels.parquet"),
            "--task", task, "--out", str(out), "--quiet"]
    expected = check_shadow(DATA / "production.parquet", DATA / "candidate.parquet", id="request_id",
                            prediction="prediction", labels=DATA / "labels.parquet", task=task)
    assert main(args) == expected.verdict.exit_code
    assert json.loads(out.read_text())["parameters"]["task"] == task


def test_shadow_cli_task_choices_are_the_api_tasks(capsys):
    from workbench.shadow.task import TASKS

    args = ["shadow", "--production", str(DATA / "production.parquet"), "--candidate",
            str(DATA / "candidate.parquet"), "--id", "request_id", "--task", "ranking"]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    listed = ", ".join(repr(t) for t in TASKS)
    assert f"argument --task: invalid choice: 'ranking' (choose from {listed})" in capsys.readouterr().err


def test_as_of_uses_only_the_labels_that_had_arrived():
    early = END - dt.timedelta(hours=36)
    result = check_shadow(DATA / "production.parquet", DATA / "candidate_same.parquet", id="request_id",
                          prediction="prediction", labels=DATA / "labels.parquet", label_time="label_time",
                          as_of=early)
    labels = pl.read_parquet(DATA / "labels.parquet")
    arrived = labels.filter(pl.col("label_time") <= early)["request_id"]
    prod = pl.read_parquet(DATA / "production.parquet")["request_id"].unique()
    assert result.to_polars("accuracy")["n"][0] == int(arrived.is_in(prod.implode()).sum())
    with pytest.raises(Exception, match="Mixed naive and time-zone-aware"):
        check_shadow(DATA / "production.parquet", DATA / "candidate_same.parquet", id="request_id",
                     prediction="prediction", labels=DATA / "labels.parquet", label_time="label_time",
                     as_of=early.replace(tzinfo=None))


def test_brier_and_log_loss_equal_scikit_learn_per_side_and_segment():
    from sklearn.metrics import brier_score_loss, log_loss

    result = check_shadow(DATA / "production.parquet", DATA / "candidate.parquet", id="request_id", timestamp="ts",
                          prediction="prediction", score="score", by="region", labels=DATA / "labels.parquet")
    acc = result.to_polars("accuracy")
    prod = pl.read_parquet(DATA / "production.parquet").sort("ts").unique("request_id", keep="last")
    cand = pl.read_parquet(DATA / "candidate.parquet").sort("ts").unique("request_id", keep="last")
    both = prod.join(cand, on="request_id", suffix="_c").join(pl.read_parquet(DATA / "labels.parquet"), on="request_id")
    for scope, rows in (("all", both), ("region=latam", both.filter(pl.col("region") == "latam"))):
        row = acc.filter(pl.col("scope") == scope).row(0, named=True)
        y = rows["label"].to_numpy()
        assert row["brier_production"] == pytest.approx(brier_score_loss(y, rows["score"].to_numpy()))
        assert row["brier_candidate"] == pytest.approx(brier_score_loss(y, rows["score_c"].to_numpy()))
        assert row["log_loss_candidate"] == pytest.approx(log_loss(y, rows["score_c"].to_numpy()), rel=1e-6)
        assert row["brier_difference_low"] < row["brier_difference"] < row["brier_difference_high"]
    assert acc.filter(pl.col("scope") == "region=latam")["brier_difference_low"].item() > 0  # worse there


def test_inputs_are_fingerprinted_independently_of_row_order(shadow):
    prod = pl.read_parquet(DATA / "production.parquet")
    p_in, c_in = shadow.inputs
    assert c_in.name == "candidate"
    assert (p_in.name, p_in.rows) == ("production", prod.height) and p_in.fingerprint.startswith("sha1:")
    shuffled = check_shadow(prod.sample(fraction=1.0, shuffle=True, seed=3), DATA / "candidate.parquet",
                            labels=DATA / "labels.parquet", label_time="label_time", as_of=END, stage=0.05, **ROLES)
    assert shuffled.inputs[0].fingerprint == p_in.fingerprint
    assert shuffled.verdict.to_dict() == shadow.verdict.to_dict()  # the retry rule does not depend on row order
