"""Planted scenarios from real failure stories of ML systems in production.

One module per scenario. Each module has a ``generate(seed=...)`` function that builds small, seeded
frames (numpy + polars) with a known defect planted in them, and returns them together with the planted
truth the tests in ``tests/test_planted_scenarios.py`` assert against: what must be found (check kind,
subject, scope, direction, severity floor) and what must stay silent.
"""
