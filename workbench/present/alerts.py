"""A result as the messages on-call tools accept: a Slack-compatible webhook message, Prometheus
Alertmanager alerts (``POST /api/v2/alerts``) and PagerDuty Events API v2 events.

These functions only render a :class:`~workbench.findings.CheckResult`; sending them (retries,
timeouts) is :mod:`workbench.reports.deliver`'s job. Every payload is a pure function of the result,
so the same result gives the same bytes (timestamps come from ``result.created_at``).

What is sent (the severity mapping)
-----------------------------------
======================  ==========================  ==============================  ===================
what                    Alertmanager                PagerDuty                       Slack
======================  ==========================  ==============================  ===================
verdict ``rollback``    firing, ``severity=critical``  ``trigger``, ``critical``    one message
verdict ``hold``        firing, ``severity=warning``   ``trigger``, ``warning``     one message
verdict ``promote``     resolved (``endsAt`` = now)    ``resolve``                  one message
finding (at or above    firing, its severity        ``trigger``, its severity       listed in the message
``min_severity``)       (critical/warning/info)     (critical/warning/info)
check without verdict   firing at the worst         ``trigger`` at the worst, or    one message
                        severity, or resolved       ``resolve`` when none is left
======================  ==========================  ==============================  ===================

Alertmanager identifies an alert by its labels, so the verdict alert is sent under both severities
on every run: the current one firing, the other resolved (a hold that turns into a rollback does not
leave the hold alert open). A firing alert ends by itself ``ttl`` seconds after the run unless a
later run sends it again, as Alertmanager expects of clients. PagerDuty deduplicates by
``dedup_key``: the verdict's is stable per source and check (so promote resolves what rollback
opened), a finding's is made of its stable id (:func:`workbench.findings.model.finding_id`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workbench.errors import ConfigError
from workbench.findings.model import SEVERITY_RANK

if TYPE_CHECKING:
    from workbench.findings.model import CheckResult, Finding

VERDICT_SEVERITY = {"rollback": "critical", "hold": "warning"}  # promote resolves
PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
SUMMARY_LIMIT = 1024  # PagerDuty's payload.summary
DEDUP_LIMIT = 255  # PagerDuty's dedup_key
SLACK_LINES = 20


def default_source(result: CheckResult) -> str:
    """What the alerts are about when the caller names nothing: ``workbench <check>``."""
    return f"workbench {result.check}"


def notable(result: CheckResult, min_severity: str) -> tuple[Finding, ...]:
    """The findings worth a notification: at or above ``min_severity`` ('none': no finding); ConfigError
    for another value."""
    if min_severity == "none":
        return ()
    if min_severity not in SEVERITY_RANK:
        raise ConfigError(f"min_severity must be one of {[*SEVERITY_RANK, 'none']}, got {min_severity!r}.")
    return tuple(f for f in result.findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[min_severity])


def headline(result: CheckResult, source: str, min_severity: str) -> tuple[str, str | None]:
    """The one-line summary and the severity of the run (None: nothing is wrong, the alert resolves)."""
    verdict = result.verdict
    if verdict is not None:
        reason = verdict.reasons[0] if verdict.reasons else ""
        return f"{source}: {verdict.decision.upper()}: {reason}".strip(), VERDICT_SEVERITY.get(verdict.decision)
    found = notable(result, min_severity)
    if not found:
        return f"{source}: PASS: no finding at or above {min_severity}", None
    return f"{source}: {len(found)} finding(s), worst {found[0].severity}: {found[0].message}", found[0].severity


def details(result: CheckResult, action: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run in a few JSON values: check, verdict (decision, reasons, exit code, stages), finding
    counts by severity, inputs, and what the action hook did."""
    counts = {s: sum(f.severity == s for f in result.findings) for s in SEVERITY_RANK}
    out: dict[str, Any] = {"check": result.check, "created_at": result.created_at, "findings": counts,
                           "inputs": [{"name": i.name, "rows": i.rows, "fingerprint": i.fingerprint}
                                      for i in result.inputs]}
    if result.verdict is not None:
        out["verdict"] = {k: v for k, v in result.verdict.to_dict().items() if k != "guardrails"}
    if action is not None:
        out["action"] = dict(action)
    return json.loads(json.dumps(out, default=str))


# -- Slack-compatible webhook -------------------------------------------------------------------------------
def slack_message(result: CheckResult, *, source: str | None = None, min_severity: str = "critical",
                  action: Mapping[str, Any] | None = None, link: str | None = None) -> dict[str, str]:
    """``{"text": ...}``: the headline, the verdict's reasons, the findings at or above ``min_severity``,
    the action's outcome and ``link`` (at most :data:`SLACK_LINES` lines)."""
    source = source or default_source(result)
    title, _ = headline(result, source, min_severity)
    lines = [title]
    if result.verdict is not None:
        lines += [f"• {reason}" for reason in result.verdict.reasons[1:4]]
    lines += [f"• [{f.severity}] {f.message}" for f in notable(result, min_severity)]
    if action is not None:
        lines.append(f"action {action.get('flag')}: {action.get('status')} ({action.get('command')})")
    if link:
        lines.append(f"details: {link}")
    if len(lines) > SLACK_LINES:
        lines = [*lines[:SLACK_LINES - 1], f"… and {len(lines) - SLACK_LINES + 1} more line(s)"]
    return {"text": "\n".join(lines)}


# -- Prometheus Alertmanager ---------------------------------------------------------------------------------
def alertmanager_alerts(result: CheckResult, *, source: str | None = None, min_severity: str = "critical",
                        ttl: float = 3600.0, action: Mapping[str, Any] | None = None,
                        link: str | None = None) -> list[dict[str, Any]]:
    """The body of ``POST /api/v2/alerts``: a list of alerts, each with ``labels`` (``alertname``,
    ``check``, ``source``, ``severity``; a finding's also ``kind``, ``subject``, ``finding_id``),
    ``annotations`` (``summary``, ``description``, and the details as JSON), ``startsAt``, ``endsAt``
    (RFC 3339) and, with ``link``, ``generatorURL``. ``ttl``: seconds after the run a firing alert
    ends unless sent again."""
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
        raise ConfigError(f"ttl must be a number of seconds > 0, got {ttl!r}.")
    source = source or default_source(result)
    now = _time(result.created_at)
    firing_until, resolved_at = _rfc3339(now + dt.timedelta(seconds=ttl)), _rfc3339(now)
    title, severity = headline(result, source, min_severity)
    base = {"check": result.check, "source": source}
    name = "WorkbenchVerdict" if result.verdict is not None else "WorkbenchCheck"
    description = "\n".join(result.verdict.reasons) if result.verdict is not None else title
    about = {"summary": title, "description": description, "details": json.dumps(details(result, action))}
    levels = ("critical", "warning") if result.verdict is not None else ("critical", "warning", "info")
    out = []
    for level in levels:  # the run's alert under each severity it can have: the current one fires
        firing = level == severity
        out.append(_alert({"alertname": name, **base, "severity": level}, about,
                          _rfc3339(now) if firing else resolved_at, firing_until if firing else resolved_at, link))
    for f in notable(result, min_severity):
        labels = {"alertname": "WorkbenchFinding", **base, "severity": f.severity, "kind": f.kind,
                  "subject": f.subject, "finding_id": f.id}
        annotations = {"summary": f.message, "description": f.suggestion,
                       "details": json.dumps(f.to_dict(), sort_keys=True)}
        out.append(_alert(labels, annotations, _rfc3339(now), firing_until, link))
    return out


def _alert(labels: dict[str, str], annotations: dict[str, str], starts: str, ends: str,
           link: str | None) -> dict[str, Any]:
    """One postable alert; a resolved one starts and ends at the run (when it began is not known here)."""
    alert: dict[str, Any] = {"labels": labels, "annotations": annotations, "startsAt": starts, "endsAt": ends}
    if link:
        alert["generatorURL"] = link
    return alert


# -- PagerDuty Events API v2 ---------------------------------------------------------------------------------
def pagerduty_events(result: CheckResult, *, routing_key: str, source: str | None = None,
                     min_severity: str = "critical", action: Mapping[str, Any] | None = None,
                     link: str | None = None) -> list[dict[str, Any]]:
    """One Events API v2 event per request body (``POST /v2/enqueue`` takes one at a time): the run's
    event (``trigger`` at the verdict's or worst finding's severity, ``resolve`` when nothing is wrong)
    and a ``trigger`` per finding at or above ``min_severity``. Each has ``routing_key``,
    ``event_action`` and ``dedup_key``; a trigger also ``payload`` (``summary``, ``source``,
    ``severity``, ``timestamp``, ``component``, ``group``, ``class``, ``custom_details``), ``client``
    and, with ``link``, ``client_url`` and ``links``."""
    source = source or default_source(result)
    title, severity = headline(result, source, min_severity)
    run_key = _dedup(f"workbench:{source}:{result.check}:" + ("verdict" if result.verdict is not None else "run"))
    events = []
    if severity is None:
        events.append({"routing_key": routing_key, "event_action": "resolve", "dedup_key": run_key})
    else:
        events.append(_trigger(routing_key, run_key, title, source, severity, result, "verdict"
                               if result.verdict is not None else "check", details(result, action), link))
    for f in notable(result, min_severity):
        events.append(_trigger(routing_key, _dedup(f"workbench:{source}:{f.id}"), f.message, source,
                               PAGERDUTY_SEVERITY[f.severity], result, f.kind, f.to_dict(), link))
    return events


def _trigger(routing_key: str, key: str, summary: str, source: str, severity: str, result: CheckResult,
             kind: str, custom: Mapping[str, Any], link: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": key,
        "payload": {"summary": summary[:SUMMARY_LIMIT], "source": source, "severity": severity,
                    "timestamp": result.created_at, "component": result.check, "group": source, "class": kind,
                    "custom_details": json.loads(json.dumps(dict(custom), default=str))},
        "client": "workbench"}
    if link:
        event["client_url"] = link
        event["links"] = [{"href": link, "text": f"workbench {result.check}"}]
    return event


def _dedup(key: str) -> str:
    return key[:DEDUP_LIMIT]


def _time(iso: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(iso)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
