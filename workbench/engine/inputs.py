"""The input boundary: turn user inputs into lazy polars frames and validate roles.

Every public entry point passes its inputs through here, so errors name the frame, the
column and the fix, and nothing the user gave is modified (polars frames are immutable;
pandas and arrow inputs are converted, never written to).
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from workbench.errors import InputError, did_you_mean

FrameLike = Any  # polars / pandas / pyarrow / duckdb relation / parquet or CSV path or glob


def to_lazy(data: FrameLike, *, name: str, check: str | None = None) -> pl.LazyFrame:
    """Return ``data`` as a polars LazyFrame.

    Accepts a polars DataFrame or LazyFrame, a pandas DataFrame, a pyarrow Table, a duckdb
    relation, or a path / glob to parquet or CSV files. ``name`` is used in error messages; a
    Spark DataFrame is refused naming ``check`` (its rows would all have to come to the driver).
    """
    if isinstance(data, pl.LazyFrame):
        _refuse_object_columns(schema_of(data, name=name), name=name)
        return data
    if isinstance(data, pl.DataFrame):
        _refuse_object_columns(data.schema, name=name)
        return data.lazy()
    if isinstance(data, str | Path):
        return _scan_path(str(data), name=name)
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return _from_pandas(data, name=name).lazy()
    if module == "pyarrow":
        return pl.from_arrow(data).lazy()  # type: ignore[union-attr]
    if module == "duckdb" and hasattr(data, "pl"):
        return data.pl().lazy()
    if module == "pyspark":
        raise InputError(
            f"{name}: {check or 'this check'} does not run on Spark (it would collect every row to the driver). "
            "Pass a parquet path or a polars/duckdb frame; drift, skew, calibration, subgroups, performance and "
            "the shadow/canary comparison run on Spark DataFrames.")
    raise InputError(
        f"{name}: unsupported input of type {type(data).__name__}. Pass a polars, pandas or pyarrow "
        "frame, a duckdb relation, or a path to parquet/CSV files."
    )


def _refuse_object_columns(schema: pl.Schema, *, name: str) -> None:
    """Polars ``Object`` columns hold arbitrary Python objects that no summary can count or compare."""
    objects = [c for c, t in schema.items() if t == pl.Object]
    if objects:
        raise InputError(f"{name}: column(s) {objects} hold Python objects (polars Object), which cannot be "
                         f"summarized. Cast them to text or numbers, or drop them: e.g. df.drop({objects!r}).")


def _from_pandas(df: Any, *, name: str) -> pl.DataFrame:
    """A pandas frame as polars, refusing duplicate column names and object columns of mixed types by name."""
    columns = [str(c) for c in df.columns]
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise InputError(f"{name}: the pandas frame has duplicate column names {duplicates}; give each column its "
                         "own name (e.g. df.columns = [...]) or drop the copies (df.loc[:, ~df.columns.duplicated()]).")
    try:
        return pl.from_pandas(df)
    except Exception as exc:  # pyarrow's conversion errors: find the column and say what it mixes
        for column in df.columns:
            if df[column].dtype != object:
                continue
            kinds = sorted({type(v).__name__ for v in df[column].dropna()})
            if len(kinds) > 1:
                raise InputError(f"{name}: column {str(column)!r} mixes values of types {kinds}; give it one type, "
                                 f"e.g. df[{str(column)!r}] = df[{str(column)!r}].astype(str).") from None
        raise InputError(f"{name}: the pandas frame could not be converted: {exc}") from None


def _scan_path(path: str, *, name: str) -> pl.LazyFrame:
    matches = sorted(glob.glob(path)) if any(ch in path for ch in "*?[") else [path]
    if not matches or not all(Path(m).exists() for m in matches):
        raise InputError(f"{name}: no file found at {path!r}. Check the path (relative to {Path.cwd()}).")
    suffixes = {Path(m).suffix.lower() for m in matches}
    if suffixes <= {".parquet", ".pq"}:
        return pl.scan_parquet(matches)
    if suffixes <= {".csv"}:
        lf = pl.scan_csv(matches, try_parse_dates=True)
        _refuse_another_separator(lf, path, matches[0], name=name)
        return lf
    raise InputError(f"{name}: cannot read {path!r}; expected .parquet or .csv files, found {sorted(suffixes)}.")


_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _refuse_another_separator(lf: pl.LazyFrame, path: str, first: str, *, name: str) -> None:
    """A CSV read with commas as one column, whose header and first row hold the same number (one or more)
    of ';', tab or '|', is a file separated by that character: refused with how to read it (else its rows
    would compare as one text column). ``first`` is the first matching file."""
    schema = schema_of(lf, name=name)
    if len(schema) != 1:
        return
    with open(first, encoding="utf-8", errors="replace") as fh:
        header, row = fh.readline(), fh.readline()
    for separator, word in _SEPARATORS.items():
        if header.count(separator) and header.count(separator) == row.count(separator):
            raise InputError(
                f"{name}: {path!r} reads as one column {header.strip()[:60]!r}: it looks {word}-separated "
                f"({separator!r}), and CSV files are read comma-separated. Save it comma-separated or as parquet, "
                f"or (in Python) pass the frame read with its separator: pl.scan_csv({path!r}, "
                f"separator={separator!r}).")


def schema_of(lf: pl.LazyFrame, *, name: str) -> pl.Schema:
    """The frame's schema, turning a lazily failing source into a clear error."""
    try:
        return lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{name}: could not read the input: {exc}") from exc


def require_columns(schema: Mapping[str, Any], roles: Mapping[str, str | None], *, name: str) -> None:
    """Raise :class:`InputError` naming every missing column, with close-name hints.

    ``roles`` maps a role (e.g. ``"entity"``) to the column given for it; ``None`` is skipped.
    """
    problems = []
    for role, column in roles.items():
        if column is not None and column not in schema:
            problems.append(f"{role}={column!r} is not a column of {name}.{did_you_mean(column, schema)}")
    if problems:
        problems.append(f"Available columns: {sorted(schema)}")
        raise InputError(" ".join(problems))


def check_time_column(schema: Mapping[str, Any], column: str, *, name: str, role: str) -> pl.DataType:
    """Check that ``column`` holds datetimes or dates; return its dtype."""
    dtype = schema[column]
    if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
        return dtype
    hint = ""
    if dtype == pl.String:
        hint = f" Parse it first, e.g. pl.col({column!r}).str.to_datetime()."
    elif dtype.is_numeric():
        hint = f" If it holds epoch seconds, convert it with pl.from_epoch({column!r})."
    raise InputError(f"{name}: {role} column {column!r} must be a datetime or date, got {dtype}.{hint}")


def check_time_zones(columns: Iterable[tuple[str, str, pl.DataType]]) -> str | None:
    """Check that time columns are all naive or all time-zone aware.

    ``columns`` yields (frame name, column, dtype). Returns the common time zone (``"UTC"``
    when aware ones differ, since they are all converted to UTC), or ``None`` when naive.
    """
    aware: list[tuple[str, str, str | None]] = []
    naive: list[tuple[str, str, str | None]] = []
    for frame, column, dtype in columns:
        tz = getattr(dtype, "time_zone", None)
        (aware if tz else naive).append((frame, column, tz))
    if aware and naive:
        a, n = aware[0], naive[0]
        raise InputError(
            f"Mixed naive and time-zone-aware timestamps: {n[0]}.{n[1]} is naive but {a[0]}.{a[1]} is in "
            f"{a[2]}. Make them agree, e.g. pl.col({n[1]!r}).dt.replace_time_zone('UTC') if the naive one is UTC."
        )
    if not aware:
        return None
    zones = {tz for _, _, tz in aware}
    return zones.pop() if len(zones) == 1 else "UTC"


def as_datetime(column: str, dtype: pl.DataType, time_zone: str | None) -> pl.Expr:
    """Expression casting a date/datetime column to ``Datetime('us', time_zone)``."""
    expr = pl.col(column)
    if dtype == pl.Date:
        expr = expr.cast(pl.Datetime("us"))
        if time_zone:
            expr = expr.dt.replace_time_zone(time_zone)
        return expr
    if getattr(dtype, "time_zone", None) and time_zone:
        expr = expr.dt.convert_time_zone(time_zone)
    return expr.cast(pl.Datetime("us", time_zone))
