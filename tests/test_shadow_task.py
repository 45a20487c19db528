"""What the compared model predicts: binary classes must be coded 0/1 (as in the performance
checks), other codings are refused with the values found and the fix, or compared as classes when
the task says multiclass."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score

from workbench.errors import ConfigError, InputError
from workbench.shadow import Guardrails, check_shadow
from workbench.shadow.task import TASKS

GUARD = Guardrails(min_requests=100, min_labelled=100, min_support=50)


def coded_logs(classes: list, seed: int = 0, n: int = 2000):
    """Two logs predicting ``classes`` (the first class most often right) and labels in the same
    coding; ~80% / ~70% accurate."""
    rng = np.random.default_rng(seed)
    y = rng.choice(len(classes), n)
    other = (y + rng.integers(1, len(classes), n)) % len(classes)
    code = np.array(classes, dtype=object)
    region = rng.choice(["a", "b"], n)

    def log(acc: float) -> pl.DataFrame:
        pred = np.where(rng.random(n) < acc, y, other)
        return pl.DataFrame({"rid": np.arange(n), "pred": list(code[pred]), "s": rng.random(n).round(3),
                             "region": region})

    labels = pl.DataFrame({"rid": np.arange(n), "label": list(code[y])})
    return log(0.8), log(0.7), labels


def test_binary_0_1_is_inferred_and_gets_brier_and_log_loss():
    prod, cand, labels = coded_logs([0, 1])
    result = check_shadow(prod, cand, id="rid", prediction="pred", score="s", labels=labels, guardrails=GUARD)
    assert result.parameters["task"] == "binary"
    assert "brier_production" in result.to_polars("accuracy").columns


@pytest.mark.parametrize("task", ["auto", "binary", "classification"])
@pytest.mark.parametrize("mode", ["shadow", "canary"])
def test_labels_0_2_against_0_1_predictions_are_refused_with_the_values_and_the_fix(task, mode):
    prod, cand, labels = coded_logs([0, 1])
    labels = labels.with_columns(pl.col("label") * 2)
    message = (r"labels: 'label' takes the values \[0, 2\]: not a binary coding \(0/1 or booleans, 1 the positive "
               r"class\).*Map the positive class to 1 .* or pass task='multiclass'")
    with pytest.raises(InputError, match=message):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=labels, task=task, mode=mode, guardrails=GUARD)


def test_labels_0_2_on_duckdb_are_refused_the_same_way():
    prod, cand, labels = coded_logs([0, 1])
    con = duckdb.connect()
    rel = [con.from_arrow(df.to_arrow()) for df in (prod, cand, labels.with_columns(pl.col("label") * 2))]
    with pytest.raises(InputError, match=r"labels: 'label' takes the values \[0, 2\]"):
        check_shadow(*rel[:2], id="rid", prediction="pred", labels=rel[2], guardrails=GUARD)


@pytest.mark.parametrize("task", ["auto", "binary"])
def test_yes_no_classes_are_refused_unless_the_task_says_multiclass(task):
    prod, cand, labels = coded_logs(["no", "yes"])
    with pytest.raises(InputError, match=r"the production log: prediction 'pred' takes the values \['no', 'yes'\]: "
                                         r"not a binary coding.*\(pl.col\('pred'\) == 'yes'\).cast\(pl.Int8\)"):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=labels, task=task, guardrails=GUARD)


def test_binary_task_refuses_a_non_binary_prediction_even_without_labels():
    prod, cand, _ = coded_logs([0, 1])
    cand = cand.with_columns(pl.col("pred") * 2)
    with pytest.raises(InputError, match=r"the candidate log: prediction 'pred' takes the values \[0, 2\]: not a "
                                         r"binary coding \(0/1 or booleans, 1 the positive class\) as task='binary'"):
        check_shadow(prod, cand, id="rid", prediction="pred", task="binary", guardrails=GUARD)


def test_three_classes_with_labels_need_task_multiclass():
    prod, cand, labels = coded_logs([0, 1, 2])
    with pytest.raises(InputError, match=r"prediction 'pred' takes the values \[0, 1, 2\].*task='multiclass'"):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=labels, guardrails=GUARD)


@pytest.mark.parametrize("classes", [[0, 1, 2], ["no", "yes"], ["cat", "dog", "emu", "owl"]])
@pytest.mark.parametrize("mode", ["shadow", "canary"])
def test_multiclass_accuracy_and_kappa_equal_scikit_learn(classes, mode):
    prod, cand, labels = coded_logs(classes, seed=len(classes))
    result = check_shadow(prod, cand, id="rid", prediction="pred", score="s", by="region", labels=labels, mode=mode,
                          task="multiclass", guardrails=GUARD)
    assert result.parameters["task"] == "multiclass"
    table = result.to_polars("accuracy")
    assert "brier_production" not in table.columns  # a score is not a probability per class
    for scope, keep in (("all", pl.lit(True)), ("region=a", pl.col("region") == "a")):
        row = table.filter(pl.col("scope") == scope).row(0, named=True)
        for side, log in (("production", prod), ("candidate", cand)):
            joined = log.filter(keep).join(labels, on="rid")
            assert row[f"right_{side}"] / row[f"n_{side}"] == pytest.approx(
                accuracy_score(joined["label"], joined["pred"]))
    if mode == "shadow":
        both = prod.join(cand, on="rid", suffix="_c")
        kappa = result.to_polars("agreement").filter(pl.col("scope") == "all")["kappa"].item()
        assert kappa == pytest.approx(cohen_kappa_score(both["pred"], both["pred_c"]))


def test_without_labels_auto_compares_any_classes_as_they_are():
    prod, cand, _ = coded_logs(["cat", "dog", "emu"])
    result = check_shadow(prod, cand, id="rid", prediction="pred", guardrails=Guardrails(require_accuracy=False))
    assert result.parameters["task"] == "multiclass"
    both = prod.join(cand, on="rid", suffix="_c")
    assert result.to_polars("agreement")["kappa"][0] == pytest.approx(cohen_kappa_score(both["pred"], both["pred_c"]))


@pytest.mark.parametrize("task", ["classifier", "Binary", None, 1])
def test_an_unknown_task_is_refused_listing_the_tasks(task):
    prod, cand, _ = coded_logs([0, 1])
    with pytest.raises(ConfigError, match=re.escape(f"task must be one of {list(TASKS)}")):
        check_shadow(prod, cand, id="rid", prediction="pred", task=task)
