"""`workbench service`: the table-driven command of check_service (flags, --config, outputs, notifications)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.service_data import Plan, make_log
from tests.test_loop_notify import Recorder
from workbench.cli import build_parser, main
from workbench.cli.checks import SERVICE, _capacities
from workbench.errors import ConfigError
from workbench.findings import validate_findings
from workbench.service import check_service

ROOT = Path(__file__).resolve().parents[1]
SERVING = ROOT / "sample_data" / "serving"
SAMPLE_FLAGS = ["--requests", str(SERVING / "requests.parquet"), "--spans", str(SERVING / "spans.parquet"),
                "--metrics", str(SERVING / "metrics.parquet"), "--by", "client_id", "--by", "region", "--by",
                "endpoint", "--window", "5m", "--capacity", "inference=3000"]


@pytest.fixture(scope="module")
def storm_log(tmp_path_factory) -> Path:
    """A small request log (6,000 requests over 6 hours) in which client c3 retries at once from hour 3 to 4."""
    path = tmp_path_factory.mktemp("service") / "requests.parquet"
    make_log(np.random.default_rng(3), n=6000, plan=Plan(storm=True)).write_parquet(path)
    return path


def _run(argv: list[str], out: Path) -> tuple[int, dict]:
    code = main(["service", *argv, "--out", str(out), "--quiet"])
    doc = json.loads(out.read_text())
    validate_findings(doc)
    return code, doc


def test_workbench_service_gives_the_findings_of_check_service(storm_log, tmp_path, capsys):
    code, doc = _run(["--requests", str(storm_log), "--min-backoff", "0.1", "--fail-on", "warning"],
                     tmp_path / "f.json")
    expected = check_service(storm_log, min_backoff=0.1)
    assert doc["check"] == "service"
    assert [(f["id"], f["severity"], f["message"]) for f in doc["findings"]] == \
        [(f.id, f.severity, f.message) for f in expected.findings]
    assert {(f["kind"], f["scope"].get("segment", {}).get("client_id")) for f in doc["findings"]} >= \
        {("retry_storm", "c3")}
    assert code == 1 and capsys.readouterr().out.splitlines()[-1].startswith("FAIL: ")
    assert main(["service", "--requests", str(storm_log), "--fail-on", "none", "--quiet"]) == 0


def test_a_config_and_its_flags_agree_and_a_flag_overrides_the_file(storm_log, tmp_path):
    config = storm_log.parent / "service.yaml"
    config.write_text("requests: requests.parquet\nby: [client_id, region]\nwindow: 10m\nmin_backoff: 1s\n"
                      "min_retries: 30\n")
    _, by_config = _run(["--config", str(config)], tmp_path / "config.json")
    _, by_flags = _run(["--requests", str(storm_log), "--by", "client_id", "--by", "region", "--window", "10m",
                        "--min-backoff", "1s", "--min-retries", "30"], tmp_path / "flags.json")
    for doc in (by_config, by_flags):
        doc.pop("created_at")
    assert by_config == by_flags
    assert by_config["parameters"]["by"] == ["client_id", "region"]
    assert (by_config["parameters"]["window"], by_config["parameters"]["min_backoff"]) == (600.0, 1.0)
    _, overridden = _run(["--config", str(config), "--by", "endpoint", "--min-backoff", "0.25"],
                         tmp_path / "over.json")
    assert overridden["parameters"]["by"] == ["endpoint"]
    assert (overridden["parameters"]["min_backoff"], overridden["parameters"]["min_retries"]) == (0.25, 30)


@pytest.mark.parametrize(("argv", "expected"), [
    (["--capacity", "3000"], 3000.0),
    (["--capacity", "inference=3000", "--capacity", "batch=500"], {"inference": 3000.0, "batch": 500.0}),
])
def test_capacity_is_one_number_or_one_per_queue(argv, expected):
    values = SERVICE.values(build_parser().parse_args(["service", "--metrics", "m.parquet", *argv]))
    assert _capacities(values["capacity"]) == expected


def test_a_config_capacity_is_a_number_or_a_mapping(tmp_path):
    config = tmp_path / "service.yaml"
    for text, expected in (("capacity: 3000\n", 3000.0), ("capacity: {inference: 3000}\n", {"inference": 3000.0})):
        config.write_text(f"metrics: m.parquet\n{text}")
        values = SERVICE.values(build_parser().parse_args(["service", "--config", str(config)]))
        assert _capacities(values["capacity"]) == expected


@pytest.mark.parametrize(("argv", "message"), [
    (["--capacity", "3000", "--capacity", "inference=10"],
     "--capacity: give one number for every queue (--capacity 3000) or one per queue"),
    (["--capacity", "-5"], "--capacity expects a number of items (every queue) or QUEUE=ITEMS; got '-5'."),
    (["--capacity", "=5"], "--capacity expects a number of items"),
    (["--min-backoff", "soon"], "The 'min_backoff' parameter of check_service must be a duration"),
])
def test_a_bad_value_exits_2_naming_the_flag(argv, message, storm_log, capsys):
    assert main(["service", "--requests", str(storm_log), *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_an_input_or_with_a_verdict_flag_it_exits_2(capsys):
    assert main(["service", "--window", "5m"]) == 2
    assert "missing --requests, --spans or --metrics (at least one; or give them in --config)." in \
        capsys.readouterr().err
    for argv, message in ((["--stage", "kind"], "invalid choice: 'kind'"),
                          (["--on-rollback", "echo"], "unrecognized arguments: --on-rollback echo")):
        with pytest.raises(SystemExit) as exit_:
            main(["service", "--requests", "r.parquet", *argv])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err


def test_an_unknown_config_key_exits_2_with_did_you_mean(tmp_path, capsys):
    config = tmp_path / "service.yaml"
    config.write_text("requests: r.parquet\nmin_backof: 1s\n")
    assert main(["service", "--config", str(config)]) == 2
    assert "unknown key 'min_backof'. Did you mean 'min_backoff' or" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--capacity: give one number"):
        _capacities([{None: 1.0}, {"q": 2.0}])


def test_the_findings_at_or_above_fail_on_are_notified_and_the_numbers_written(storm_log, tmp_path, capsys):
    server = Recorder()
    try:
        metrics = tmp_path / "service.prom"
        code = main(["service", "--requests", str(storm_log), "--fail-on", "critical", "--notify", server.url,
                     "--alertmanager", server.url, "--alert-source", "scorer prod", "--metrics-out", str(metrics)])
    finally:
        server.close()
    assert code == 1
    slack, alertmanager = server.bodies()
    assert slack["text"].startswith("scorer prod: 1 finding(s), worst critical: Retries per original request rose")
    found = [a["labels"] for a in alertmanager if a["labels"]["alertname"] == "WorkbenchFinding"]
    # the warning (no backoff) is below --fail-on; no timeouts were planted, so no timeout finding
    assert sorted((a["kind"], a["severity"]) for a in found) == [("retry_storm", "critical")]
    assert {a["labels"]["check"] for a in alertmanager} == {"service"}
    assert 'workbench_findings{check="service",severity="critical"}' in metrics.read_text()
    assert "notified slack: sent (HTTP 200)" in capsys.readouterr().out


@pytest.mark.slow
def test_the_shipped_config_gives_the_findings_of_its_flags_on_the_whole_sample(tmp_path):
    code, by_config = _run(["--config", str(SERVING / "service.yaml")], tmp_path / "config.json")
    _, by_flags = _run(SAMPLE_FLAGS, tmp_path / "flags.json")
    assert code == 1
    assert [(f["id"], f["severity"], f["message"]) for f in by_config["findings"]] == \
        [(f["id"], f["severity"], f["message"]) for f in by_flags["findings"]]
    kinds = {f["kind"] for f in by_config["findings"]}
    assert kinds >= {"retry_storm", "idempotency_violation", "fallback_rate_increase", "circuit_breaker_open",
                     "queue_backpressure", "gpu_underutilized", "metrics_gap", "stage_latency_regression"}
    queue = next(f for f in by_config["findings"] if f["kind"] == "queue_backpressure")
    assert "left before it filled up (3,000 items)" in queue["message"]  # --capacity reached the metrics part
