"""The LLM application check: :func:`check_llm` reads a request log (one row per request: time,
API key, user, segments, tokens, cost, judgments, retrieval facts) and finds where answers became
ungrounded, whose usage spiked, and where retrieval got worse, each against its own baseline
(rules: :mod:`workbench.llm.check`, :mod:`workbench.llm.quality`, :mod:`workbench.llm.usage`)."""

from workbench.llm.check import LLMResult, check_llm

__all__ = ["LLMResult", "check_llm"]
