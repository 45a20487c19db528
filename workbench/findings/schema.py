"""Load the shipped findings JSON Schema and validate documents against it."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def findings_schema() -> dict[str, Any]:
    """The findings JSON Schema (draft 2020-12) shipped with the package."""
    text = resources.files("workbench.findings").joinpath("findings.schema.json").read_text("utf-8")
    return json.loads(text)


def validate_findings(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``document`` does not follow the schema."""
    import jsonschema

    jsonschema.Draft202012Validator(findings_schema()).validate(document)
