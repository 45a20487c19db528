"""Spans into tables: the shared foundation of the LLM-application and serving-operations checks.

:func:`read_spans` reads OpenTelemetry spans (an OTLP/JSON export as the Collector's file exporter
writes it, or a flattened table) into one row per span; :func:`requests_from_spans` and
:func:`stages_from_spans` turn them into one row per request and one row per request and stage.
This part sits above the engine and below the checks: it imports errors, params and engine only.
"""

from workbench.telemetry.requests import requests_from_spans, stages_from_spans
from workbench.telemetry.spans import SPAN_COLUMNS, read_spans

__all__ = ["SPAN_COLUMNS", "read_spans", "requests_from_spans", "stages_from_spans"]
