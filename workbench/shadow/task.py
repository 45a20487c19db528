"""What the compared model predicts, and whether its predictions and labels are coded for it.

``task`` is one of :data:`TASKS`:

* ``"regression"``: numeric predictions and labels (MAE ratio, RMSE; a request "flips" when the
  two predictions differ by more than ``large_change``);
* ``"binary"`` (``"classification"`` is the same, kept for compatibility): classes coded 0/1 (or
  booleans), 1 the positive class, as in the performance checks; accuracy, and with a ``score``
  (the probability of class 1) the Brier score and log loss. Predictions on both sides and labels
  coded otherwise (``{0, 2}``, ``'yes'/'no'``, three classes) are refused, naming the column and
  the values found, since an accuracy against a class the predictions never use would be wrong
  without a word;
* ``"multiclass"``: any classes (numbers or text), compared by equality: agreement, kappa and
  exact-match accuracy; no Brier score or log loss (a score is not a probability per class);
* ``"auto"``: regression for a float prediction; otherwise binary when the predictions (and the
  labels, when given) are coded 0/1. Classes coded otherwise are refused when labels are given
  (is ``{0, 2}`` a miscoded binary label or a third class? only the user knows: pass
  ``task="multiclass"`` or recode), and compared as classes without labels, where nothing
  depends on the coding.
"""

from __future__ import annotations

from typing import Literal, get_args

import narwhals as nw
import polars as pl

from workbench.engine.frames import collect_on, engine_of
from workbench.errors import ConfigError, InputError
from workbench.shadow.columns import LABEL, role
from workbench.shadow.reconcile import SIDES, Reconciliation

Task = Literal["auto", "binary", "multiclass", "regression", "classification"]
TASKS: tuple[str, ...] = get_args(Task)
SHOWN = 10  # distinct values quoted in a message


def check_task(task: object) -> str:
    """``task`` if it is one of :data:`TASKS`, else an :class:`InputError` listing them."""
    if not isinstance(task, str) or task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)} (see workbench.shadow.task), got {task!r}.")
    return task


def resolve(rec: Reconciliation, task: str, paired: bool, *, labelled: bool) -> str | None:
    """The task the comparison runs (``"binary"``, ``"multiclass"`` or ``"regression"``; None
    without a prediction), checking both sides' predictions are coded as the module's rule
    requires. ``labelled``: labels will be compared with the predictions (then check them with
    :func:`check_labels`)."""
    task = check_task(task)
    prediction = rec.roles.get("prediction")
    if not prediction:
        return None
    dtype = rec.schema[role("prediction", "production")]
    if task == "regression" and not dtype.is_numeric():
        raise InputError(f"task='regression' needs a numeric prediction; {prediction!r} is {dtype}.")
    if task == "regression" or (task == "auto" and dtype.is_float()):
        return "regression"
    if task == "multiclass":
        return "multiclass"
    for s in SIDES:
        values = _values_if_not_binary(rec.side(s, paired=paired), role("prediction"))
        if values is not None:
            if task == "auto" and not labelled:
                return "multiclass"  # agreement and kappa only: the same whatever the coding
            raise _not_binary(f"the {s} log: prediction {prediction!r}", prediction, values, task)
    return "binary"


def check_labels(labels: nw.LazyFrame, task: str, label: str) -> None:
    """Refuse labels (column ``LABEL``; ``label`` is the user's name) not coded 0/1 for a binary task
    (``task`` as the user gave it, for the message)."""
    values = _values_if_not_binary(labels, LABEL)
    if values is not None:
        raise _not_binary(f"labels: {label!r}", label, values, task)


def _not_binary(where: str, column: str, values: list, task: str) -> InputError:
    needs = f" as task={task!r} needs" if task != "auto" else ""
    return InputError(
        f"{where} takes the values {values}: not a binary coding (0/1 or booleans, 1 the positive class){needs}. "
        "Map the positive class to 1 and the other to 0, in the labels and in both logs' predictions (e.g. "
        f"(pl.col({column!r}) == 'yes').cast(pl.Int8)), or pass task='multiclass' to compare them as classes "
        "(exact-match accuracy, no Brier score or log loss).")


def _values_if_not_binary(lf: nw.LazyFrame, column: str) -> list | None:
    """None when ``column`` holds only 0, 1 (or booleans) and nulls; else its distinct non-null
    values, sorted (at most :data:`SHOWN`, then ``'...'``). Computed on the frame's engine."""
    dtype = lf.collect_schema()[column]
    if dtype == nw.Boolean:
        return None
    found = collect_on(lf.select(nw.col(column)).drop_nulls().unique().head(SHOWN + 1), engine_of(lf),
                       "the comparison", check="the task's coding", counts=False).get_column(column)
    if found.is_empty() or (dtype.is_numeric() and found.cast(pl.Float64).is_in([0.0, 1.0]).all()):
        return None
    values = sorted(found.to_list(), key=lambda v: (str(type(v)), v))
    return [*values[:SHOWN], "..."] if len(values) > SHOWN else values
