"""The curated API: one name per check (``check_<command>``), exported lazily from ``workbench``; the
earlier names stay importable from their subpackages for one release, warn and delegate; a keyword or
config key of an earlier version is refused with its new name."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import polars as pl
import pytest

import workbench
from workbench.errors import ConfigError

# name -> the subpackage it lives in
EXPORTS = {
    "check_leakage": "workbench.leakage",
    "check_drift": "workbench.drift",
    "check_skew": "workbench.drift",
    "fit_profile": "workbench.drift",
    "check_shadow": "workbench.shadow",
    "check_performance": "workbench.performance",
    "check_subgroups": "workbench.performance",
    "check_calibration": "workbench.performance",
    "check_llm": "workbench.llm",
    "check_service": "workbench.service",
    "CheckResult": "workbench.findings",
    "Finding": "workbench.findings",
    "findings_schema": "workbench.findings",
    "validate_findings": "workbench.findings",
}

# old name -> (subpackage exporting the alias, new name, module defining the new function)
ALIASES = {
    "audit_leakage": ("workbench.leakage", "check_leakage", "workbench.leakage.audit"),
    "drift": ("workbench.drift", "check_drift", "workbench.drift.check"),
    "training_serving_skew": ("workbench.drift", "check_skew", "workbench.drift.skew"),
    "compare_logs": ("workbench.shadow", "check_shadow", "workbench.shadow.compare"),
    "performance": ("workbench.performance", "check_performance", "workbench.performance.check"),
    "calibration": ("workbench.performance", "check_calibration", "workbench.performance.calibration"),
    "subgroups": ("workbench.performance", "check_subgroups", "workbench.performance.subgroups"),
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_name_is_exported_from_workbench_as_the_subpackages_object(name):
    exec(f"from workbench import {name}", namespace := {})  # the import statement a user writes
    assert namespace[name] is getattr(importlib.import_module(EXPORTS[name]), name)
    assert name in workbench.__all__ and name in dir(workbench)


def test_all_lists_exactly_the_curated_api():
    assert set(workbench.__all__) == {*EXPORTS, "__version__"}
    assert all(n.startswith("check_") for n in workbench.__all__ if n.islower() and n not in
               {"fit_profile", "findings_schema", "validate_findings", "__version__"})
    with pytest.raises(AttributeError, match="no attribute 'audit_leakage'"):
        _ = workbench.audit_leakage  # the old names live in the subpackages only, for one release


def test_a_drift_run_through_workbench_does_not_import_the_leakage_auditor():
    code = ("import sys, workbench; workbench.check_drift; workbench.fit_profile; "
            "print(sorted(m for m in sys.modules if m.startswith(('workbench.leakage', 'workbench.shadow'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("old", sorted(ALIASES))
def test_an_old_name_warns_with_the_new_name_and_delegates(old, monkeypatch):
    package, new, module = ALIASES[old]
    alias = getattr(importlib.import_module(package), old)
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return "the new function's result"

    monkeypatch.setattr(sys.modules[module], new, spy)
    with pytest.warns(DeprecationWarning, match=rf"^{old} is deprecated .*use {new} \(from workbench import {new}\)"):
        returned = alias("first", option=2)
    assert returned == "the new function's result"
    assert calls == [(("first",), {"option": 2})]
    assert old not in importlib.import_module(package).__all__


def test_an_old_name_runs_the_check_itself():
    from workbench.drift import drift

    ref, cur = pl.DataFrame({"x": [0.0, 1.0, 2.0] * 50}), pl.DataFrame({"x": [0.0, 1.0, 2.0] * 50})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = drift(ref, cur)
    assert [str(w.message).split(" is ")[0] for w in caught] == ["drift"]
    new = workbench.check_drift(ref, cur)
    assert old.check == new.check == "drift"
    assert old.to_polars("columns").equals(new.to_polars("columns"))


# -- one name per parameter concept: the old keyword or config key is refused with the new name ------------
def _frame() -> pl.DataFrame:
    return pl.DataFrame({"x": [0.0, 1.0, 2.0] * 50, "y": [0, 1, 1] * 50, "pred": [0, 1, 0] * 50,
                         "p": [0.2, 0.7, 0.6] * 50, "seg": ["a", "b", "c"] * 50})


RENAMED_CALLS = {
    "check_drift n_bins": (lambda: workbench.check_drift(_frame(), _frame(), n_bins=5), "check_drift: n_bins", "bins"),
    "fit_profile n_bins": (lambda: workbench.fit_profile(_frame(), n_bins=5), "fit_profile: n_bins", "bins"),
    "DriftRule min_rows": (lambda: importlib.import_module("workbench.drift").DriftRule(min_rows=5),
                           "DriftRule: min_rows", "min_support"),
    "check_calibration min_rows": (lambda: workbench.check_calibration(_frame(), _frame(), score="p", target="y",
                                                                      min_rows=5),
                                   "check_calibration: min_rows", "min_support"),
    "Guardrails min_segment": (lambda: importlib.import_module("workbench.shadow").Guardrails(min_segment=50),
                               "Guardrails: min_segment", "min_support"),
    "check_subgroups data": (lambda: workbench.check_subgroups(data=_frame(), target="y", prediction="pred", by="seg"),
                             "check_subgroups: data", "predictions"),
}


@pytest.mark.parametrize("case", sorted(RENAMED_CALLS))
def test_an_old_keyword_is_refused_with_a_config_error_naming_the_new_one(case):
    call, where, new = RENAMED_CALLS[case]
    with pytest.raises(ConfigError, match=rf"^{where} was renamed {new} \(the old name is refused; use {new}\)\.$"):
        call()


def test_the_new_keywords_are_the_ones_the_checks_take():
    result = workbench.check_drift(_frame(), _frame(), bins=4, rule=importlib.import_module("workbench.drift")
                                   .DriftRule(min_support=10))
    assert result.parameters["bins"] == 4 and result.parameters["rule"]["min_support"] == 10
    assert workbench.check_calibration(_frame(), _frame(), score="p", target="y", min_support=5,
                                       resamples=50).parameters["min_support"] == 5
    subgroups = workbench.check_subgroups(predictions=_frame(), target="y", prediction="pred", by="seg")
    assert subgroups.check == "performance"


@pytest.mark.parametrize(("command", "old", "new"), [("drift", "n_bins", "bins"),
                                                    ("performance", "min_rows", "min_support"),
                                                    ("shadow", "min_segment", "min_support")])
def test_an_old_config_key_is_refused_with_its_new_name(command, old, new, tmp_path, capsys):
    from workbench.cli import main

    config = tmp_path / f"{command}.yaml"
    config.write_text(f"{old}: 5\n")
    assert main([command, "--config", str(config)]) == 2
    assert f"{old} was renamed {new}" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["drift", "performance"])
def test_bins_is_one_flag_for_drift_and_calibration(command):
    from workbench.cli.checks import CHECKS

    options = {o.name: o.key for c in CHECKS if c.name == command for o in c.options}
    assert options["--bins"] == "bins"


def test_the_old_shadow_flag_is_refused_naming_the_new_one(capsys):
    from workbench.cli import main

    assert main(["shadow", "--min-segment", "50"]) == 2
    assert "--min-segment is now --min-support" in capsys.readouterr().err
