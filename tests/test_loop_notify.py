"""Notifications in the formats on-call tools accept, sent to local HTTP servers that record the requests:
a Slack-compatible webhook, Prometheus Alertmanager (``POST /api/v2/alerts``, validated against the
``postableAlerts`` definitions of Alertmanager's OpenAPI document, api/v2/openapi.yaml) and PagerDuty Events
API v2 (``POST /v2/enqueue``, validated against the fields its documentation, "Send an Alert Event", marks
required and the values it allows). Sending retries what may pass and nothing else."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from workbench.cli import main
from workbench.errors import ConfigError
from workbench.findings.model import CheckResult, Finding, InputSummary
from workbench.present.alerts import alertmanager_alerts, pagerduty_events, slack_message
from workbench.reports import deliver
from workbench.reports.deliver import alertmanager_url, notify, post_json
from workbench.shadow import check_shadow

DATA = Path(__file__).resolve().parents[1] / "sample_data" / "shadow"
ROLES = {"id": "request_id", "prediction": "prediction", "latency": "latency_ms", "error": "error"}
KEY = "0123456789abcdef0123456789abcdef"  # a routing key is 32 characters

# Alertmanager api/v2/openapi.yaml: postableAlerts = array of postableAlert = allOf(
#   {startsAt: date-time, endsAt: date-time, annotations: labelSet}, alert {labels: labelSet (required),
#   generatorURL: uri}); labelSet = object of strings.
LABEL_SET = {"type": "object", "additionalProperties": {"type": "string"}}
POSTABLE_ALERTS = {
    "type": "array",
    "items": {"allOf": [
        {"type": "object", "properties": {"startsAt": {"type": "string", "format": "date-time"},
                                          "endsAt": {"type": "string", "format": "date-time"},
                                          "annotations": LABEL_SET}},
        {"type": "object", "properties": {"labels": LABEL_SET, "generatorURL": {"type": "string", "format": "uri"}},
         "required": ["labels"]},
    ], "unevaluatedProperties": False},
}
# PagerDuty Events API v2, "Send an Alert Event": routing_key and event_action always; payload.summary (at most
# 1024 characters), payload.source and payload.severity for a trigger; dedup_key at most 255 characters.
PAGERDUTY_EVENT = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "minLength": 32, "maxLength": 32},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "client": {"type": "string"}, "client_url": {"type": "string", "format": "uri"},
        "links": {"type": "array", "items": {"type": "object", "required": ["href"]}},
        "images": {"type": "array", "items": {"type": "object", "required": ["src"]}},
        "payload": {
            "type": "object", "required": ["summary", "source", "severity"],
            "properties": {"summary": {"type": "string", "maxLength": 1024}, "source": {"type": "string"},
                           "severity": {"enum": ["critical", "error", "warning", "info"]},
                           "timestamp": {"type": "string", "format": "date-time"},
                           "component": {"type": "string"}, "group": {"type": "string"},
                           "class": {"type": "string"}, "custom_details": {"type": "object"}},
            "additionalProperties": False},
    },
    "additionalProperties": False,
    "if": {"properties": {"event_action": {"const": "trigger"}}},
    "then": {"required": ["payload"]},
    "else": {"required": ["dedup_key"]},
}
FORMATS = jsonschema.FormatChecker()


def valid(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(instance)


class Recorder:
    """A local HTTP server that records each POST (path, headers, JSON body) and answers with the next status
    of ``statuses`` (then 200), after ``delay`` seconds."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.requests.append({"path": self.path, "content_type": self.headers["Content-Type"],
                                          "body": json.loads(body)})
                if delay:
                    threading.Event().wait(delay)
                status = recorder.statuses.pop(0) if recorder.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"status": "success"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def bodies(self) -> list[Any]:
        return [r["body"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture(scope="module")
def rollback() -> CheckResult:
    return check_shadow(DATA / "production.parquet", DATA / "candidate.parquet", labels=DATA / "labels.parquet",
                        **ROLES)


@pytest.fixture(scope="module")
def promote() -> CheckResult:
    return check_shadow(DATA / "production.parquet", DATA / "candidate_same.parquet", labels=DATA / "labels.parquet",
                        **ROLES)


@pytest.fixture(scope="module")
def hold() -> CheckResult:
    return check_shadow(DATA / "production.parquet", DATA / "candidate_same.parquet", **ROLES)


def test_the_fixtures_have_the_three_verdicts(rollback, promote, hold):
    assert (rollback.verdict.decision, promote.verdict.decision, hold.verdict.decision) == \
        ("rollback", "promote", "hold")


def test_alertmanager_gets_the_verdict_and_the_critical_findings_as_postable_alerts(rollback, recorder):
    (sent,) = notify(rollback, alertmanager=recorder.url, source="churn-model/canary", link="https://ci.example/1")
    assert (sent.target, sent.status, sent.http_status, sent.attempts) == ("alertmanager", "sent", 200, 1)
    (request,) = recorder.requests
    assert request["path"] == "/api/v2/alerts" and request["content_type"] == "application/json"
    alerts = request["body"]
    valid(alerts, POSTABLE_ALERTS)
    assert alerts == alertmanager_alerts(rollback, source="churn-model/canary", link="https://ci.example/1")
    critical, warning, *findings = alerts
    base = {"check": "shadow", "source": "churn-model/canary"}
    assert critical["labels"] == {"alertname": "WorkbenchVerdict", **base, "severity": "critical"}
    assert warning["labels"] == {"alertname": "WorkbenchVerdict", **base, "severity": "warning"}
    created = dt.datetime.fromisoformat(rollback.created_at)
    starts, ends = (dt.datetime.fromisoformat(critical[k]) for k in ("startsAt", "endsAt"))
    assert starts == created and ends - starts == dt.timedelta(hours=1)  # firing: ends unless sent again
    assert warning["startsAt"] == warning["endsAt"] == critical["startsAt"]  # the other severity: resolved now
    assert critical["annotations"]["summary"] == f"churn-model/canary: ROLLBACK: {rollback.verdict.reasons[0]}"
    assert critical["annotations"]["description"].splitlines() == list(rollback.verdict.reasons)
    assert json.loads(critical["annotations"]["details"])["verdict"]["exit_code"] == 1
    assert critical["generatorURL"] == "https://ci.example/1"
    expected = rollback.at_least("critical")
    assert {f.kind for f in expected} == {"latency_regression", "error_rate_regression"}
    assert [a["labels"]["finding_id"] for a in findings] == [f.id for f in expected]
    assert all(a["labels"]["alertname"] == "WorkbenchFinding" and a["labels"]["severity"] == "critical"
               for a in findings)
    assert [a["annotations"]["summary"] for a in findings] == [f.message for f in expected]


def test_the_alertmanager_schema_refuses_what_alertmanager_would(rollback):
    """The transcribed schema can fail: a label that is not a string, a time that is not RFC 3339, no labels."""
    good = alertmanager_alerts(rollback)
    for broken in ({**good[0], "labels": {"n": 1}}, {**good[0], "startsAt": "yesterday"},
                   {k: v for k, v in good[0].items() if k != "labels"}, {**good[0], "status": "firing"}):
        with pytest.raises(jsonschema.ValidationError):
            valid([broken], POSTABLE_ALERTS)


def test_promote_resolves_the_verdict_alert_and_hold_fires_it_as_a_warning(promote, hold):
    resolved = alertmanager_alerts(promote)
    assert [a["labels"]["severity"] for a in resolved] == ["critical", "warning"]
    assert all(a["startsAt"] == a["endsAt"] for a in resolved)
    held = alertmanager_alerts(hold)
    firing = [a for a in held if a["startsAt"] != a["endsAt"]]
    assert [a["labels"]["severity"] for a in firing] == ["warning"]
    valid(resolved + held, POSTABLE_ALERTS)


def test_pagerduty_triggers_with_stable_dedup_keys_and_promote_resolves(rollback, promote, recorder):
    sent = notify(rollback, pagerduty=f"{recorder.url}/v2/enqueue", routing_key=KEY, source="churn-model/canary")
    events = recorder.bodies()
    assert len(sent) == len(events) == 3 and all(d.ok for d in sent)  # the verdict and the 2 critical findings
    assert {r["path"] for r in recorder.requests} == {"/v2/enqueue"}
    for event in events:
        valid(event, PAGERDUTY_EVENT)
    verdict, *findings = events
    assert verdict == {
        "routing_key": KEY, "event_action": "trigger", "dedup_key": "workbench:churn-model/canary:shadow:verdict",
        "payload": {"summary": f"churn-model/canary: ROLLBACK: {rollback.verdict.reasons[0]}",
                    "source": "churn-model/canary", "severity": "critical", "timestamp": rollback.created_at,
                    "component": "shadow", "group": "churn-model/canary", "class": "verdict",
                    "custom_details": verdict["payload"]["custom_details"]},
        "client": "workbench"}
    assert verdict["payload"]["custom_details"]["verdict"]["reasons"] == list(rollback.verdict.reasons)
    expected = rollback.at_least("critical")
    assert [e["dedup_key"] for e in findings] == [f"workbench:churn-model/canary:{f.id}" for f in expected]
    assert [e["payload"]["class"] for e in findings] == [f.kind for f in expected]
    assert [e["payload"]["custom_details"]["metrics"]["n"] for e in findings] == [f.metrics["n"] for f in expected]
    # the same check run again gives the same keys, and promoting resolves the verdict's alert
    (resolve,) = pagerduty_events(promote, routing_key=KEY, source="churn-model/canary")
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": verdict["dedup_key"]}
    valid(resolve, PAGERDUTY_EVENT)


def test_the_pagerduty_schema_refuses_what_pagerduty_would(rollback):
    (event, *_) = pagerduty_events(rollback, routing_key=KEY)
    payload = event["payload"]
    for broken in ({**event, "event_action": "fire"}, {**event, "payload": {**payload, "severity": "high"}},
                   {k: v for k, v in event.items() if k != "payload"},
                   {"routing_key": KEY, "event_action": "resolve"}, {**event, "routing_key": "short"}):
        with pytest.raises(jsonschema.ValidationError):
            valid(broken, PAGERDUTY_EVENT)


def test_a_check_without_verdict_alerts_at_its_worst_severity_and_resolves_when_clean():
    warning = Finding("drift", "drift", "warning", "x", "x drifted: PSI 0.31 (n=1,000)", "Look at x's source.",
                      {"n": 1000})
    inputs = (InputSummary("current", 1000, ("x",), "sha1:0"),)
    found = CheckResult("drift", (warning,), inputs, created_at="2026-03-02T12:00:00+00:00")
    alerts = alertmanager_alerts(found, min_severity="warning", ttl=600)
    run, finding = [a for a in alerts if a["labels"]["alertname"] == "WorkbenchCheck"], \
        [a for a in alerts if a["labels"]["alertname"] == "WorkbenchFinding"]
    assert {a["labels"]["severity"]: a["endsAt"] for a in run} == {
        "critical": "2026-03-02T12:00:00Z", "warning": "2026-03-02T12:10:00Z", "info": "2026-03-02T12:00:00Z"}
    assert [a["labels"]["finding_id"] for a in finding] == [warning.id]
    valid(alerts, POSTABLE_ALERTS)
    events = pagerduty_events(found, routing_key=KEY, min_severity="warning")
    assert [(e["event_action"], e["payload"]["severity"]) for e in events] == [("trigger", "warning")] * 2
    clean = CheckResult("drift", (), inputs)
    assert pagerduty_events(clean, routing_key=KEY, min_severity="warning") == [
        {"routing_key": KEY, "event_action": "resolve", "dedup_key": "workbench:workbench drift:drift:run"}]
    assert slack_message(clean, min_severity="warning") == {
        "text": "workbench drift: PASS: no finding at or above warning"}


def test_the_slack_compatible_message_says_the_verdict_and_the_action(rollback, recorder):
    action = {"flag": "--on-rollback", "command": "./rollback.sh", "status": "ok"}
    (sent,) = notify(rollback, slack=f"{recorder.url}/hook", action=action, link="https://ci.example/1")
    assert sent.ok
    (body,) = recorder.bodies()
    lines = body["text"].splitlines()
    assert lines[0] == f"workbench shadow: ROLLBACK: {rollback.verdict.reasons[0]}"
    reasons = rollback.verdict.reasons
    assert len(reasons) == 2 and lines[1] == f"• {reasons[1]}"
    assert lines[2:4] == [f"• [critical] {f.message}" for f in rollback.at_least("critical")]
    assert "action --on-rollback: ok (./rollback.sh)" in lines and lines[-1] == "details: https://ci.example/1"
    assert body == slack_message(rollback, action=action, link="https://ci.example/1")


def test_transient_failures_are_retried_with_backoff_and_permanent_ones_are_not(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(deliver, "_sleep", waits.append)
    flaky = Recorder([503, 429])
    try:
        sent = post_json(flaky.url, {"a": 1}, retries=2, backoff=0.5)
    finally:
        flaky.close()
    assert (sent.status, sent.attempts, sent.http_status, waits) == ("sent", 3, 200, [0.5, 1.0])
    assert flaky.bodies() == [{"a": 1}] * 3
    waits.clear()
    refused = Recorder([400])
    try:
        bad = post_json(refused.url, {"a": 1}, retries=2)
    finally:
        refused.close()
    assert (bad.status, bad.attempts, bad.http_status, waits) == ("failed", 1, 400, [])
    assert bad.error is not None and bad.error.startswith("HTTP 400: ")
    down = post_json("http://127.0.0.1:9/nowhere", {"a": 1}, retries=1, backoff=2)
    assert (down.status, down.attempts, waits) == ("failed", 2, [2])
    assert down.error is not None and "Connection refused" in down.error
    slow = Recorder(delay=0.6)
    try:
        late = post_json(slow.url, {"a": 1}, retries=0, timeout=0.2)
    finally:
        slow.close()
    assert late.status == "failed" and late.error is not None and "timed out" in late.error
    assert post_json("not a url", {}).error == "unknown url type: 'not a url'"


def test_bad_arguments_of_the_builders_are_refused(rollback):
    with pytest.raises(ConfigError, match=r"min_severity must be one of \['info', 'warning', 'critical', 'none'\], "
                                          r"got 'high'"):
        slack_message(rollback, min_severity="high")
    with pytest.raises(ConfigError, match="ttl must be a number of seconds > 0, got 0"):
        alertmanager_alerts(rollback, ttl=0)
    assert [a["labels"]["alertname"] for a in alertmanager_alerts(rollback, min_severity="none")] == \
        ["WorkbenchVerdict"] * 2


def test_alertmanager_url_and_pagerduty_arguments():
    assert alertmanager_url("http://am:9093") == alertmanager_url("http://am:9093/api/v2/alerts/") == \
        "http://am:9093/api/v2/alerts"
    with pytest.raises(ConfigError, match="pagerduty needs routing_key"):
        notify(CheckResult("drift", (), ()), pagerduty="http://127.0.0.1:9/v2/enqueue")


@pytest.mark.slow
def test_the_cli_notifies_each_target_once_and_keeps_the_routing_key_off_the_output(recorder, capsys, monkeypatch):
    args = ["shadow", "--production", str(DATA / "production.parquet"), "--candidate",
            str(DATA / "candidate_same.parquet"), "--id", "request_id", "--prediction", "prediction", "--latency",
            "latency_ms", "--error", "error", "--labels", str(DATA / "labels.parquet"),
            "--notify", f"{recorder.url}/slack", "--alertmanager", recorder.url, "--pagerduty",
            f"{recorder.url}/v2/enqueue", "--alert-source", "churn-model/shadow"]
    assert main(args) == 2  # --pagerduty without its routing key: refused before any work
    assert "WORKBENCH_PAGERDUTY_ROUTING_KEY" in capsys.readouterr().err and recorder.requests == []
    monkeypatch.setenv("WORKBENCH_PAGERDUTY_ROUTING_KEY", KEY)
    assert main(args) == 0  # promote
    assert [r["path"] for r in recorder.requests] == ["/slack", "/api/v2/alerts", "/v2/enqueue"]
    slack, alerts, event = recorder.bodies()
    assert slack["text"].startswith("churn-model/shadow: PROMOTE: ")
    valid(alerts, POSTABLE_ALERTS)
    assert all(a["startsAt"] == a["endsAt"] for a in alerts)  # resolved
    assert event == {"routing_key": KEY, "event_action": "resolve",
                     "dedup_key": "workbench:churn-model/shadow:shadow:verdict"}
    captured = capsys.readouterr()
    assert "notified alertmanager: sent (HTTP 200)" in captured.out and KEY not in captured.out + captured.err


@pytest.mark.slow
def test_a_failed_notification_makes_the_exit_status_6(capsys, monkeypatch):
    monkeypatch.setattr(deliver, "_sleep", lambda seconds: None)
    args = ["shadow", "--production", str(DATA / "production.parquet"), "--candidate", str(DATA / "candidate.parquet"),
            "--id", "request_id", "--latency", "latency_ms", "--operations-only", "--quiet",
            "--alertmanager", "http://127.0.0.1:9"]
    assert main(args) == 6
    captured = capsys.readouterr()
    assert captured.out.startswith("ROLLBACK: ")
    assert captured.err.startswith("workbench shadow: error: the alertmanager notification to "
                                   "http://127.0.0.1:9/api/v2/alerts failed after 3 attempt(s): URLError: ")
    assert main([*args[:-2], "--notify", "hooks.example/x"]) == 2
    assert "--notify expects an http:// or https:// URL; got 'hooks.example/x'" in capsys.readouterr().err


def test_a_check_without_verdict_can_notify_through_finish(recorder, capsys, monkeypatch):
    """The option group is shared: a check that finishes without a verdict (the next checks) notifies its
    findings at or above --fail-on, and a failed delivery makes its exit status 6 too."""
    from workbench.cli.finish import Outputs, finish

    monkeypatch.setattr(deliver, "_sleep", lambda seconds: None)
    warning = Finding("drift", "drift", "warning", "x", "x drifted: PSI 0.31 (n=1,000)", "Look at x's source.")
    result = CheckResult("drift", (warning,), (), created_at="2026-03-02T12:00:00+00:00")
    outputs = Outputs(out=None, report=None, fail_on="warning", quiet=True,
                      notify={"alertmanager": recorder.url, "alert_source": "features"})
    assert finish(result, outputs) == 1
    (alerts,) = recorder.bodies()
    assert alerts == alertmanager_alerts(result, source="features", min_severity="warning")
    assert [a["labels"]["alertname"] for a in alerts if a["startsAt"] != a["endsAt"]] == \
        ["WorkbenchCheck", "WorkbenchFinding"]
    down = Outputs(out=None, report=None, fail_on="warning", quiet=True, notify={"notify": "http://127.0.0.1:9/x"})
    assert finish(result, down) == 6
    assert "error: the slack notification to http://127.0.0.1:9/x failed after 3 attempt(s)" in capsys.readouterr().err
