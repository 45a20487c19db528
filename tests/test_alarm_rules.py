"""Every alarm rule, simulated small (the long run is bench/simulate_alarms.py, figures in BENCHMARKS.md):
quiet when nothing changed, loud on a change worth an alert, quiet on a change too small to matter."""

from __future__ import annotations

import pytest

from tests.alarm_simulation import RULES, alarm_rate


@pytest.mark.parametrize("rule", sorted(RULES))
def test_nothing_changed_rarely_alarms(rule):
    # 30 draws at 1,000 rows: a rule with a false-alarm rate of 2% alarms 3 or more times with probability 2%
    alarms, total = alarm_rate(RULES[rule], 1_000, "null", 30)
    assert alarms <= 2, f"{rule}: {alarms}/{total} false alarms"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_change_worth_an_alert_is_caught_at_ten_thousand_rows(rule):
    alarms, total = alarm_rate(RULES[rule], 10_000, "effect", 5)
    assert alarms == total, f"{rule}: caught {alarms}/{total}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_trivial_change_in_a_large_sample_does_not_alarm(rule):
    alarms, total = alarm_rate(RULES[rule], 200_000, "trivial", 3)
    assert alarms == 0, f"{rule}: {alarms}/{total} alarms on a trivial change"
