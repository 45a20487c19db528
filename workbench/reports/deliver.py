"""The one place that sends: JSON over HTTP POST with a timeout and retries, to a Slack-compatible
webhook, a Prometheus Alertmanager and the PagerDuty Events API v2 (the payloads come from
:mod:`workbench.present.alerts`).

A delivery is retried on what may pass (no connection, a timeout, HTTP 429 or 5xx), waiting
``backoff`` seconds, doubled each time; any other HTTP status is final. Nothing here raises on a
failed delivery: each attempt's outcome is a :class:`Delivery`, and the caller decides (a report run
records it; ``workbench shadow`` exits 6, see :mod:`workbench.cli.finish`).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from workbench.errors import ConfigError

if TYPE_CHECKING:
    from workbench.findings.model import CheckResult

ALERTMANAGER_PATH = "/api/v2/alerts"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_sleep = time.sleep  # the wait between attempts (its own name, so a test can replace it alone)


@dataclass(frozen=True)
class Delivery:
    """What happened to one POST: ``status`` ``"sent"`` (HTTP 2xx) or ``"failed"`` (``error`` says why)."""

    target: str
    url: str
    status: Literal["sent", "failed"]
    attempts: int
    http_status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def post_json(url: str, payload: Any, *, target: str = "webhook", timeout: float = 10.0, retries: int = 2,
              backoff: float = 0.5) -> Delivery:
    """POST ``payload`` as JSON to ``url``; up to ``retries`` more attempts on a transient failure.
    ``timeout``: seconds per attempt."""
    body = json.dumps(payload, allow_nan=False).encode()
    error, status = "", None
    try:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "workbench"})
    except ValueError as exc:  # not a URL urllib can open
        return Delivery(target, url, "failed", 0, error=f"{exc}")
    for attempt in range(1, retries + 2):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Delivery(target, url, "sent", attempt, http_status=response.status)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}: {_body(exc)}"
            if exc.code not in RETRY_STATUS:
                return Delivery(target, url, "failed", attempt, http_status=status, error=error)
        except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, timed out
            status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt <= retries:
            _sleep(backoff * 2 ** (attempt - 1))
    return Delivery(target, url, "failed", retries + 1, http_status=status, error=error)


def _body(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(300).decode("utf-8", "replace").strip() or str(exc.reason)
    except OSError:
        return str(exc.reason)


def alertmanager_url(url: str) -> str:
    """The alerts endpoint of an Alertmanager given by its base URL (``http://alertmanager:9093``)
    or by the endpoint itself."""
    url = url.rstrip("/")
    return url if url.endswith(ALERTMANAGER_PATH) else url + ALERTMANAGER_PATH


def notify(result: CheckResult, *, slack: str | None = None, alertmanager: str | None = None,
           pagerduty: str | None = None, routing_key: str | None = None, source: str | None = None,
           min_severity: str = "critical", link: str | None = None, action: Mapping[str, Any] | None = None,
           ttl: float = 3600.0, timeout: float = 10.0, retries: int = 2) -> tuple[Delivery, ...]:
    """Send ``result`` to each target given: ``slack`` a Slack-compatible webhook URL; ``alertmanager``
    an Alertmanager (base URL or its ``/api/v2/alerts``); ``pagerduty`` the Events API v2 endpoint
    (:data:`PAGERDUTY_URL`) with ``routing_key`` (the integration key). ``source`` names what the
    alerts are about (default ``workbench <check>``); ``min_severity`` the findings sent one by one;
    ``action``: what the verdict's command did, added to the details. Returns one
    :class:`Delivery` per POST (PagerDuty takes one event per request). Raises ConfigError for
    ``pagerduty`` without ``routing_key``."""
    from workbench.present import alerts

    if pagerduty and not routing_key:
        raise ConfigError("pagerduty needs routing_key (the integration key of an Events API v2 integration).")
    common: dict[str, Any] = {"source": source, "min_severity": min_severity, "action": action, "link": link}
    out: list[Delivery] = []
    if slack:
        out.append(post_json(slack, alerts.slack_message(result, **common), target="slack", timeout=timeout,
                             retries=retries))
    if alertmanager:
        out.append(post_json(alertmanager_url(alertmanager), alerts.alertmanager_alerts(result, ttl=ttl, **common),
                             target="alertmanager", timeout=timeout, retries=retries))
    if pagerduty and routing_key:
        for event in alerts.pagerduty_events(result, routing_key=routing_key, **common):
            out.append(post_json(pagerduty, event, target="pagerduty", timeout=timeout, retries=retries))
    return tuple(out)
