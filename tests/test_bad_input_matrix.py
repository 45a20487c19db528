"""Bad inputs at every check's boundary: a WorkbenchError that names the problem and the fix, never a raw
traceback from polars or pyarrow, and the user's frame unchanged."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from workbench.drift import drift, fit_profile, training_serving_skew
from workbench.errors import WorkbenchError
from workbench.leakage import audit_leakage
from workbench.performance import calibration, performance, subgroups
from workbench.shadow import compare_logs

# every public check, called with the bad frame in its first data position
CHECKS = {
    "fit_profile": lambda d: fit_profile(d),
    "drift": lambda d: drift(d, d),
    "skew": lambda d: training_serving_skew(d, d, id="a"),
    "audit_leakage": lambda d: audit_leakage(d, entity="a", prediction_time="t"),
    "compare_logs": lambda d: compare_logs(d, d, id="a"),
    "performance": lambda d: performance(d, by=["a"], target="a"),
    "subgroups": lambda d: subgroups(d, by=["a"], target="a", prediction="a"),
    "calibration": lambda d: calibration(d, d, score="a", target="a"),
}


def _duplicate_names() -> pd.DataFrame:
    return pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"])


def _mixed_object() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, "x", 2], "b": [1.0, 2.0, 3.0]})


def _polars_object() -> pl.DataFrame:
    return pl.DataFrame({"a": [object(), object()]}, schema={"a": pl.Object})


BAD_FRAMES = {
    "pandas duplicate column names": (_duplicate_names, r"duplicate column names \['a'\].*own name"),
    "pandas object column mixing str and int": (_mixed_object, r"column 'a' mixes values of types \['int', 'str'\]"
                                                               r".*astype\(str\)"),
    "polars Object column": (_polars_object, r"column\(s\) \['a'\] hold Python objects.*Cast them"),
}


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("case", sorted(BAD_FRAMES))
def test_unusable_frames_are_refused_by_column_with_the_fix(check, case):
    make, message = BAD_FRAMES[case]
    data = make()
    before = data.copy() if isinstance(data, pd.DataFrame) else None
    with pytest.raises(WorkbenchError, match=message):
        CHECKS[check](data)
    if before is not None:
        pd.testing.assert_frame_equal(data, before)
