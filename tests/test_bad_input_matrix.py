"""Bad inputs at every public boundary, API and CLI: a WorkbenchError (CLI: exit 2 and one sentence) that names
the column or parameter and the fix, or a finding; never a raw traceback, never a changed input, never an output
left behind."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.badinput.cases import Case, cases
from workbench.cli import main
from workbench.errors import WorkbenchError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_api_bad_input_is_named_or_reported(case: Case):
    if case.error is not None:
        with pytest.raises(WorkbenchError) as info:
            case.call()
        assert re.search(case.error, str(info.value)), f"message does not name it: {info.value}"
    else:
        result = case.call()
        assert case.finding in {f.kind for f in result.findings}  # type: ignore[attr-defined]


def test_the_matrix_covers_every_check_with_many_cases():
    per_check: dict[str, int] = {}
    for case in CASES:
        per_check[case.check] = per_check.get(case.check, 0) + 1
    assert set(per_check) >= {"check_leakage", "check_drift", "fit_profile", "check_skew", "check_shadow",
                              "check_performance", "check_subgroups", "check_calibration"}
    assert min(per_check.values()) >= 5


# -- the CLI: exit 2, the message, inputs unchanged, no output left ------------------------------------
PERF, SHADOW, MON, CHURN = SAMPLE / "performance", SAMPLE / "shadow", SAMPLE / "monitoring", SAMPLE / "churn"
CONFIGS = {  # written into the test's folder as {tmp}/NAME.yaml
    "bad_type": "training: 5\nentity: customer_id\nprediction_time: prediction_time\n",
    "unknown_key": f"training: {CHURN / 'training.parquet'}\nentity: customer_id\nprediction_time: prediction_time\n"
                   "splitt: split\n",
    "rule": f"training: {CHURN / 'training.parquet'}\nentity: customer_id\nprediction_time: prediction_time\n"
            "rule: {inclusive: maybe}\n",
}
TRAINING = ["--training", str(CHURN / "training.parquet")]
SHADOW_ARGS = ["shadow", "--production", str(SHADOW / "production.parquet"), "--candidate",
           str(SHADOW / "candidate.parquet"), "--id", "request_id"]
PERFORMANCE = ["performance", "--predictions", str(PERF / "predictions.parquet"), "--by", "region", "--score", "score"]
PERF_LABELS = ["--labels", str(PERF / "labels.parquet"), "--id", "request_id"]
DRIFT = ["drift", "--reference", str(MON / "reference.parquet"), "--current", str(MON / "current")]
CLI_CASES = {
    "leakage config: training is a number": (["leakage", "--config", "{tmp}/bad_type.yaml"], r"training"),
    "leakage config: unknown key": (["leakage", "--config", "{tmp}/unknown_key.yaml"], r"splitt.*split"),
    "leakage config: inclusive: maybe": (["leakage", "--config", "{tmp}/rule.yaml"],
                                         r"inclusive'.*true or false"),
    "leakage: missing config file": (["leakage", "--config", "{tmp}/nope.yaml"], r"not found"),
    "leakage: misspelled entity": (["leakage", *TRAINING, "--entity", "customer", "--prediction-time",
                                    "prediction_time"], r"customer_id"),
    "leakage: missing flags": (["leakage", *TRAINING], r"--entity"),
    "drift: missing current": (["drift", "--reference", str(MON / "reference.parquet")], r"--current"),
    "drift: window of zero": ([*DRIFT, "--timestamp", "ts", "--window", "0s"], r"'window'.*greater than zero"),
    "drift: unreadable window": ([*DRIFT, "--timestamp", "ts", "--window", "soon"], r"'window'.*'soon'"),
    "drift: misspelled timestamp": ([*DRIFT, "--timestamp", "tss"], r"tss"),
    "drift: missing reference file": (["drift", "--reference", "{tmp}/nope.parquet", "--current",
                                       str(MON / "current")], r"no file found"),
    "skew: misspelled id": (["skew", "--training", str(SHADOW / "production.parquet"), "--serving",
                             str(SHADOW / "candidate.parquet"), "--id", "request"], r"request_id"),
    "shadow: as-of not a time": ([*SHADOW_ARGS, "--labels", str(SHADOW / "labels.parquet"), "--label-time",
                                   "label_time", "--as-of", "yesterday"], r"--as-of"),
    "shadow: bad plan stage": ([*SHADOW_ARGS, "--plan-stage", "0.1", "--plan-stage", "a"], r"--plan-stage.*'a'"),
    "shadow: misspelled id": ([*SHADOW_ARGS[:-1], "request"], r"request_id"),
    "shadow: confidence above 1": ([*SHADOW_ARGS, "--confidence", "1.5"], r"confidence"),
    "performance: threshold above 1": ([*PERFORMANCE, *PERF_LABELS, "--threshold", "2"], r"threshold"),
    "performance: window of zero": ([*PERFORMANCE, *PERF_LABELS, "--timestamp", "ts", "--window", "0s"],
                                    r"'window'.*greater than zero"),
    "performance: as-of not a time": ([*PERFORMANCE, *PERF_LABELS, "--label-time", "label_time", "--as-of",
                                       "2026-13-01"], r"--as-of"),
    "performance: misspelled by": ([*PERFORMANCE[:4], "regoin", *PERFORMANCE[5:], *PERF_LABELS], r"regoin.*region"),
}


def _digests(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample_digests():
    before = _digests(SAMPLE)
    yield before
    assert _digests(SAMPLE) == before, "a bad-input run changed the sample data"


@pytest.mark.parametrize("what", sorted(CLI_CASES))
def test_cli_bad_input_exits_2_names_it_and_leaves_no_output(what, tmp_path, capsys, sample_digests):
    for name, text in CONFIGS.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    argv, message = CLI_CASES[what]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out / "f.json"), "--report", str(out / "r.html")])
    err = capsys.readouterr().err
    assert code == 2, f"exit {code}: {err}"
    assert re.search(message, err), err
    assert "Traceback" not in err
    assert not out.exists(), "output left behind"
