"""The serving-operations check (issue 20): :func:`check_service` from request logs, spans and metrics."""

from workbench.service.check import check_service

__all__ = ["check_service"]
