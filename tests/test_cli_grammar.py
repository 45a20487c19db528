"""One grammar for every check: command names are the check names, each option is one row of a table that
builds the flag and the ``--config`` key (the API argument name), flags override the file, lists repeat."""

from __future__ import annotations

import argparse
import inspect
import json
import math
import tomllib
from dataclasses import fields
from pathlib import Path

import polars as pl
import pytest

from workbench.cli import build_parser, main
from workbench.cli.checks import CHECKS
from workbench.cli.options import CONFIG
from workbench.findings import validate_findings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CHURN, MON, SHADOW, PERF = SAMPLE / "churn", SAMPLE / "monitoring", SAMPLE / "shadow", SAMPLE / "performance"
LLM = SAMPLE / "llm_app"

# the README's first command, flag by flag, and the config file shipped beside the sample data for it
README_FLAGS = {
    "drift": ["--reference", str(MON / "reference.parquet"), "--current", str(MON / "current"), "--timestamp", "ts",
              "--exclude", "request_id", "--score", "score", "--target", "label"],
    "shadow": ["--production", str(SHADOW / "production.parquet"), "--candidate", str(SHADOW / "candidate.parquet"),
               "--id", "request_id", "--timestamp", "ts", "--prediction", "prediction", "--score", "score",
               "--latency", "latency_ms", "--error", "error", "--by", "region", "--by", "device",
               "--labels", str(SHADOW / "labels.parquet"), "--label-time", "label_time",
               "--as-of", "2026-03-03T00:00:00+00:00", "--plan-stage", "0.01", "--plan-stage", "0.05",
               "--plan-stage", "0.25", "--plan-stage", "1", "--stage", "0.05"],
    "performance": ["--predictions", str(PERF / "predictions.parquet"), "--labels", str(PERF / "labels.parquet"),
                    "--id", "request_id", "--label-time", "label_time", "--as-of", "2026-03-08T12:00:00+00:00",
                    "--prediction", "prediction", "--score", "score", "--by", "region", "--by", "device",
                    "--by", "plan", "--timestamp", "ts", "--window", "1h",
                    "--reference", str(PERF / "reference.parquet")],
    "llm": ["--requests", str(LLM / "requests.parquet"), "--timestamp", "timestamp", "--api-key", "api_key",
            "--user-id", "user_id", "--grounded", "grounded", "--by", "region", "--by", "query_type", "--by", "model",
            "--version-column", "model_version", "--version-column", "prompt_version", "--window", "1h",
            "--currency", "USD"],
}
SHIPPED = {"drift": MON / "drift.yaml", "shadow": SHADOW / "shadow.yaml", "performance": PERF / "performance.yaml",
           "llm": LLM / "llm.yaml"}


def _findings(argv: list[str], out: Path) -> dict:
    main([*argv, "--out", str(out), "--quiet", *(["--fail-on", "none"] if argv[0] != "shadow" else [])])
    doc = json.loads(out.read_text())
    validate_findings(doc)
    doc.pop("created_at")
    doc["parameters"].get("profile", {}).pop("created_at", None)  # drift: when the reference profile was fitted
    return doc


def _differences(a, b, where="") -> list[str]:
    """Where two findings documents differ, floats compared to a relative 1e-9: the performance check's sums
    differ in the last digits from one run to the next (parallel float addition), with the same code and flags,
    so a rounding to fixed digits can still fall on either side of a boundary."""
    if isinstance(a, float) and isinstance(b, float | int):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300) else [f"{where}: {a} != {b}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


@pytest.mark.parametrize("check", sorted(SHIPPED))
def test_a_shipped_config_gives_the_findings_of_the_readme_flags(check, tmp_path):
    by_config = _findings([check, "--config", str(SHIPPED[check])], tmp_path / "config.json")
    by_flags = _findings([check, *README_FLAGS[check]], tmp_path / "flags.json")
    assert _differences(by_config, by_flags) == []
    assert [(f["id"], f["severity"], f["message"]) for f in by_config["findings"]] == \
        [(f["id"], f["severity"], f["message"]) for f in by_flags["findings"]]
    assert len(by_config["findings"]) >= 5


def test_the_leakage_config_and_the_same_flags_give_the_same_findings(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text(f"training: {CHURN / 'training.parquet'}\nentity: customer_id\nprediction_time: prediction_time\n"
                      "target: churned\nsplit: split\nfeature_timestamps: {balance: prediction_time}\n")
    by_config = _findings(["leakage", "--config", str(config)], tmp_path / "config.json")
    by_flags = _findings(["leakage", "--training", str(CHURN / "training.parquet"), "--entity", "customer_id",
                          "--prediction-time", "prediction_time", "--target", "churned", "--split", "split",
                          "--feature-timestamp", "balance=prediction_time"], tmp_path / "flags.json")
    assert by_config == by_flags
    assert {f["kind"] for f in by_config["findings"]} >= {"split_entity_overlap", "target_proxy"}


def test_the_shipped_leakage_config_runs_as_workbench_leakage(tmp_path, capsys):
    out = tmp_path / "f.json"
    assert main(["leakage", "--config", str(CHURN / "audit.yaml"), "--out", str(out)]) == 1
    assert json.loads(out.read_text())["check"] == "leakage"
    assert "FAIL: 6 finding(s) at or above critical" in capsys.readouterr().out


@pytest.fixture()
def skew_files(tmp_path):
    """Two small request logs in tmp/data: x differs on 40 of 200 requests, y on 10, z never."""
    data = tmp_path / "data"
    data.mkdir()
    training = pl.DataFrame({"id": range(200), "x": [float(i % 7) for i in range(200)],
                             "y": [i % 3 for i in range(200)], "z": [1.0] * 200})
    serving = training.with_columns(x=pl.when(pl.col("id") < 40).then(pl.col("x") + 1).otherwise(pl.col("x")),
                                    y=pl.when(pl.col("id") < 10).then(pl.col("y") + 1).otherwise(pl.col("y")))
    training.write_parquet(data / "training.parquet")
    serving.write_parquet(data / "serving.parquet")
    return data


def _skewed(out: Path) -> list[str]:
    return sorted(f["subject"] for f in json.loads(out.read_text())["findings"])


def test_relative_paths_in_a_config_are_taken_from_its_folder(skew_files, tmp_path, monkeypatch):
    config = skew_files / "skew.yaml"
    config.write_text("training: training.parquet\nserving: serving.parquet\nid: id\n")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    out = tmp_path / "f.json"
    assert main(["skew", "--config", str(config), "--out", str(out), "--quiet"]) == 1
    assert _skewed(out) == ["x", "y"]


def test_a_flag_overrides_the_config_and_a_repeated_flag_replaces_its_list(skew_files, tmp_path):
    config = skew_files / "skew.yaml"
    config.write_text("training: training.parquet\nserving: serving.parquet\nid: id\ncolumns: [x, z]\n")
    out = tmp_path / "f.json"
    base = ["skew", "--config", str(config), "--out", str(out), "--quiet", "--fail-on", "none"]
    assert main(base) == 0
    assert _skewed(out) == ["x"]
    assert main([*base, "--column", "y", "--column", "z"]) == 0
    assert _skewed(out) == ["y"]
    # a flag given on the command line replaces the file's path too (relative to the working folder)
    assert main([*base, "--serving", str(skew_files / "training.parquet")]) == 0
    assert [f["kind"] for f in json.loads(out.read_text())["findings"]] == ["insufficient_data"]  # nothing differs


def test_repeatable_flags_give_lists(tmp_path):
    out = tmp_path / "f.json"
    assert main(["shadow", *README_FLAGS["shadow"], "--out", str(out), "--quiet"]) == 1
    doc = json.loads(out.read_text())
    assert doc["parameters"]["by"] == ["region", "device"]
    assert doc["parameters"]["stages"] == [0.01, 0.05, 0.25, 1.0]
    args = build_parser().parse_args(["drift", "--by", "a", "--by", "b", "--exclude", "x", "--exclude", "y",
                                      "--column", "c"])
    assert (args.by, args.exclude, args.columns) == (["a", "b"], ["x", "y"], ["c"])
    args = build_parser().parse_args(["leakage", "--feature-timestamp", "a=t1", "--feature-timestamp", "b=t2"])
    assert args.feature_timestamps == ["a=t1", "b=t2"]


def test_a_feature_timestamp_flag_adds_to_the_configs_mapping(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text(f"training: {CHURN / 'training.parquet'}\nentity: customer_id\nprediction_time: prediction_time\n"
                      "feature_timestamps: {balance: prediction_time}\n")
    out = tmp_path / "f.json"
    main(["leakage", "--config", str(config), "--feature-timestamp", "spend_90d=prediction_time", "--out", str(out),
          "--quiet"])
    assert sorted(json.loads(out.read_text())["parameters"]["feature_timestamps"]) == ["balance", "spend_90d"]


@pytest.mark.parametrize(("check", "text", "message"), [
    ("drift", "reference: reference.parquet\ncurrent: current\ntimestmp: ts\n",
     r"drift\.yaml: unknown key 'timestmp'\. Did you mean 'timestamp'\?"),
    ("shadow", "production: p.parquet\ncandidate: c.parquet\nid: request_id\nstage: 0.05\nplan_stages: [0.01]\n",
     r"unknown key 'plan_stages'\. Did you mean 'stages'"),
    ("performance", "predictions: p.parquet\nby: [region]\nlabel_tim: label_time\n",
     r"unknown key 'label_tim'\. Did you mean 'label_time'"),
    ("skew", "training: t.parquet\nserving: s.parquet\nid: id\ncolumn: [x]\n",
     r"unknown key 'column'\. Did you mean 'columns'\?"),
    ("leakage", "training: t.parquet\nentity: id\nprediction_time: pt\nsplitt: split\n",
     r"unknown key 'splitt'\. Did you mean 'split'\?"),
])
def test_an_unknown_config_key_exits_2_with_did_you_mean(check, text, message, tmp_path, capsys):
    import re

    config = tmp_path / f"{check}.yaml"
    config.write_text(text)
    assert main([check, "--config", str(config), "--out", str(tmp_path / "f.json")]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert err.startswith(f"workbench {check}: error: ")
    assert not (tmp_path / "f.json").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("latency_ratio: fast\n", "'latency_ratio' expects a number; got 'fast'."),
    ("min_requests: 1.5\n", "'min_requests' expects a whole number; got 1.5."),
    ("by: 5\n", "'by' expects a column name; got 5. Quote it in YAML."),
    ("as_of: soon\n", "'as_of' expects an ISO time such as 2026-03-02T12:00:00+00:00; got 'soon'."),
    ("mode: sideways\n", "'mode' must be one of ['shadow', 'canary']; got 'sideways'."),
    ("require_accuracy: maybe\n", "'require_accuracy' expects true or false; got 'maybe'."),
    ("stage: [0.05, 0.25]\n", "'stage' takes one value, got the list [0.05, 0.25]."),
    ("looks: 0\n", "The 'looks' parameter of Guardrails must be an integer of at least 1"),
])
def test_a_bad_config_value_exits_2_naming_the_key(text, message, tmp_path, capsys):
    config = tmp_path / "shadow.yaml"
    config.write_text(f"production: {SHADOW / 'production.parquet'}\ncandidate: {SHADOW / 'candidate.parquet'}\n"
                      f"id: request_id\n{text}")
    assert main(["shadow", "--config", str(config)]) == 2
    assert message in capsys.readouterr().err


def test_a_config_switch_and_its_flag_agree(tmp_path, capsys):
    flags = ["--production", str(SHADOW / "production.parquet"), "--candidate", str(SHADOW / "candidate_same.parquet"),
             "--id", "request_id", "--prediction", "prediction", "--latency", "latency_ms", "--error", "error",
             "--quiet"]
    assert main(["shadow", *flags]) == 3  # no labels: hold
    assert main(["shadow", *flags, "--operations-only"]) == 0
    config = tmp_path / "shadow.yaml"
    config.write_text("require_accuracy: false\n")
    assert main(["shadow", "--config", str(config), *flags]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("PROMOTE")


@pytest.mark.parametrize(("argv", "message"), [
    (["audit", "leakage", "--config", str(CHURN / "audit.yaml")],
     "workbench: error: `workbench audit leakage` is now `workbench leakage` (same options)."),
    (["audit"], "`workbench audit leakage` is now `workbench leakage`"),
    (["compare", "--production", "p.parquet"], "`workbench compare` is now `workbench shadow`"),
    (["drift", "--reference", "r.parquet", "--columns", "a,b"],
     "workbench drift: error: --columns a,b is now the repeatable --column: --column a --column b."),
    (["skew", "--columns=a,b"], "--columns a,b is now the repeatable --column"),
    (["shadow", "--stages", "0.01,0.05"], "--plan-stage 0.01 --plan-stage 0.05"),
    (["leakage", "--engine", "duckdb"], "workbench leakage: error: --engine is gone: the engine is the input's"),
    (["drift", "--engine", "polars"], "--engine is gone"),
])
def test_old_names_exit_2_naming_the_new_one(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_version_prints_the_package_version(capsys):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"workbench {version} (ml-reliability-workbench)\n"


def test_command_names_are_the_check_names_in_results(tmp_path):
    assert [c.name for c in CHECKS] == ["leakage", "drift", "skew", "shadow", "performance", "calibration",
                                        "service", "llm"]
    for check, config in SHIPPED.items():
        out = tmp_path / f"{check}.json"
        main([check, "--config", str(config), "--out", str(out), "--quiet", "--fail-on", "none"]
             if check != "shadow" else [check, "--config", str(config), "--out", str(out), "--quiet"])
        assert json.loads(out.read_text())["check"] == check


def _api_arguments(check: str) -> set[str]:
    from workbench.drift import check_drift, check_skew
    from workbench.leakage import check_leakage
    from workbench.leakage.config import TOP_KEYS
    from workbench.llm import check_llm
    from workbench.performance import check_calibration, check_performance
    from workbench.service import check_service
    from workbench.shadow import Guardrails, check_shadow

    functions = {"leakage": check_leakage, "drift": check_drift, "skew": check_skew, "shadow": check_shadow,
                 "performance": check_performance, "calibration": check_calibration,
                 "service": check_service, "llm": check_llm}
    names = set(inspect.signature(functions[check]).parameters)
    if check == "leakage":
        names = (names | {"training"}) & set(TOP_KEYS)  # the first positional argument, and a config key
    if check == "shadow":
        names |= {f.name for f in fields(Guardrails)}
    if check == "drift":
        names |= {"save_profile"}  # fit the reference profile and save it: the one key that is no argument
    return names


@pytest.mark.parametrize("command", CHECKS, ids=[c.name for c in CHECKS])
def test_every_option_key_is_an_api_argument_and_every_flag_comes_from_the_table(command):
    keys = [option.key for option in command.options]
    assert len(set(keys)) == len(keys)
    assert set(keys) <= _api_arguments(command.name)
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {s for a in sub.choices[command.name]._actions for s in a.option_strings} - {"-h", "--help"}
    declared = {o.name for o in (CONFIG, *command.options, *command.outputs)}
    assert flags == declared


def test_report_run_help_lists_the_templates_and_their_parameters(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "run", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "usage: workbench report run" in text and "templates (set a parameter with -p NAME VALUE):" in text
    for template in ("drift", "leakage", "performance", "shadow", "model_health", "service_health"):
        assert f"\n  {template}\n" in text
    assert "    window = '1d'  # window length" in text  # drift's parameter, its default and what it is


def test_workbench_calibration_gives_the_result_of_check_calibration(tmp_path, capsys):
    from workbench import check_calibration

    labelled = pl.read_parquet(PERF / "predictions.parquet").join(
        pl.read_parquet(PERF / "labels.parquet").select("request_id", "label"), on="request_id")
    labelled.write_parquet(current := tmp_path / "current.parquet")
    out = tmp_path / "calibration.json"
    code = main(["calibration", "--reference", str(PERF / "reference.parquet"), "--current", str(current),
                 "--score", "score", "--target", "label", "--timestamp", "ts", "--window", "1d", "--by", "region",
                 "--out", str(out), "--fail-on", "none"])
    assert code == 0
    written = json.loads(out.read_text())
    validate_findings(written)
    expected = check_calibration(PERF / "reference.parquet", labelled, score="score", target="label",
                                 timestamp="ts", window="1d", by="region")
    assert written["check"] == "calibration"
    assert [(f["id"], f["severity"]) for f in written["findings"]] == \
        [(f.id, f.severity) for f in expected.findings]
    assert "calibration_drift" in {f["kind"] for f in written["findings"]}


def test_the_shipped_llm_config_finds_the_planted_ungrounded_rise_on_billing(tmp_path):
    planted = json.loads((LLM / "planted.json").read_text())
    out = tmp_path / "llm.json"
    assert main(["llm", "--config", str(LLM / "llm.yaml"), "--out", str(out), "--quiet"]) == 1  # critical findings
    doc = json.loads(out.read_text())
    validate_findings(doc)
    assert doc["check"] == "llm"
    [rise] = [f for f in doc["findings"] if f["kind"] == "hallucination_rate_increase"]
    assert rise["scope"]["segment"] == planted["hallucination_rate_increase"]["segment"] == {"query_type": "billing"}
    assert rise["severity"] == "critical" and "since model_version=v7" in rise["message"]
    assert sorted(f["kind"] for f in doc["findings"]) == ["cost_increase", "hallucination_rate_increase",
                                                          "retrieval_quality_drop", "retrieval_quality_drop",
                                                          "token_spike"]


def test_llm_prices_file_and_margin_flags_reach_check_llm(tmp_path):
    from workbench import check_llm

    requests = pl.read_parquet(LLM / "requests.parquet").drop("cost")
    requests.write_parquet(path := tmp_path / "requests.parquet")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o": {"input": 0.0025, "output": 0.01},
                                  "gpt-4o-mini": {"input": 0.00015, "output": 0.0006}}))
    out = tmp_path / "llm.json"
    main(["llm", "--requests", str(path), "--prices", str(prices), "--margin", "hit_rate=0.5", "--out", str(out),
          "--quiet", "--fail-on", "none"])
    written = json.loads(out.read_text())
    expected = check_llm(path, prices=json.loads(prices.read_text()), margins={"hit_rate": 0.5})
    assert [(f["id"], f["severity"]) for f in written["findings"]] == [(f.id, f.severity) for f in expected.findings]
    assert "hit_rate" not in {f["subject"] for f in written["findings"]}  # a 35-point drop is under a 50-point margin
    assert "cost_increase" in {f["kind"] for f in written["findings"]}  # cost computed from the prices file


@pytest.mark.parametrize(("argv", "message"), [
    (["--margin", "hit_rate=lots"], "--margin expects METRIC=NUMBER"),
    (["--prices", "no-such-prices.yaml"], "--prices: config file 'no-such-prices.yaml' not found."),
])
def test_a_bad_llm_margin_or_prices_file_exits_2(argv, message, capsys):
    assert main(["llm", "--requests", str(LLM / "requests.parquet"), *argv, "--quiet"]) == 2
    assert message in capsys.readouterr().err
