"""check_llm on the shipped week of RAG traffic (sample_data/llm_app, planted.json): the planted
ungrounded rise, token spike and retrieval drop are found on their scopes and spans; the decoys
(a steadily heavy key, the weekend, a tiny canary prompt, a doubled judged share) stay quiet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench import check_llm

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "llm_app"


@pytest.fixture(scope="module")
def result():
    return check_llm(SAMPLE / "requests.parquet")


@pytest.fixture(scope="module")
def planted():
    return json.loads((SAMPLE / "planted.json").read_text())


def test_the_planted_problems_are_found_on_their_scopes(result, planted):
    [h] = result.by_kind("hallucination_rate_increase")
    assert h.scope["segment"] == planted["hallucination_rate_increase"]["segment"]
    assert h.metrics["since"] == ["model_version=v7"] and "since model_version=v7" in h.message
    assert h.scope["window"][1] == planted["hallucination_rate_increase"]["window"][1]
    [t] = result.by_kind("token_spike")
    assert t.scope["segment"] == planted["token_spike"]["segment"]
    assert t.scope["window"] == planted["token_spike"]["window"]
    assert t.metrics["n"] == planted["token_spike"]["requests"]
    drops = {f.subject: f for f in result.by_kind("retrieval_quality_drop")}
    assert set(drops) == {"hit_rate", "empty_retrieval_rate"}
    assert all(f.scope["segment"] == planted["retrieval_quality_drop"]["segment"] for f in drops.values())
    assert drops["hit_rate"].metrics["value"] == pytest.approx(0.437, abs=0.01)


def test_the_decoys_stay_quiet(result, planted):
    scopes = [f.scope.get("segment", {}) for f in result.at_least("warning")]
    assert planted["decoys"]["heavy_api_key"]["segment"] not in scopes
    assert not any("prompt_version" in s for s in scopes)
    assert len(result.at_least("warning")) == 5  # the four kinds; the cost rise is seen on query_type=general
