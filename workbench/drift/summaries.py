"""The summaries stage of drift: small aggregate tables computed where the data is.

Every summary is described once as a list of :class:`Agg` (an alias, an operation and its
argument) and compiled either to polars expressions (lazy, streaming engine) or to SQL for
duckdb. Results are small polars frames: one row per group (window × segments) for numeric
summaries, one row per (group, category bucket) for categorical counts. Nothing here computes
a statistic; :mod:`workbench.stats.distances` does, from these tables only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl

from workbench.drift.profile import ColumnKind
from workbench.engine.reserved import PREFIX
from workbench.engine.results import int64_counts
from workbench.engine.sql import Dialect, epoch_us_sql, float_literal, floor_div_sql, quote
from workbench.errors import InputError

Engine = Literal["polars", "duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("polars", "duckdb", "spark")
SEP = "\x1f"

# Every column the summaries add to the user's data starts with PREFIX, and a used user column that
# starts with it is refused (:func:`refuse_reserved`), so no user column can collide with one.
WINDOW = f"{PREFIX}window"  # the window index of a row (group key)
VALUE = f"{PREFIX}value"  # a categorical column's value as compared (group key of value counts)
COUNT = f"{PREFIX}count"  # rows per group of value counts
ROWS = f"{PREFIX}rows"  # rows per group of the numeric summaries
BUCKET = f"{PREFIX}bucket"  # the profile bin of a value (see bucketize)
ROW_NUMBER = f"{PREFIX}rn"  # row position, for every k-th row in SQL
STACKED = f"{PREFIX}column"  # which column a stacked value comes from (Spark value counts)
INTERNAL_COLUMNS = (WINDOW, VALUE, COUNT, ROWS, BUCKET, ROW_NUMBER, STACKED)


def alias(name: str, op: str) -> str:
    """The result column of the aggregate ``op`` (``"sum"``, ``"le3"``, ...) of a column or comparison
    ``name``: ``PREFIX + name + SEP + op``."""
    return f"{PREFIX}{name}{SEP}{op}"


@dataclass(frozen=True)
class Agg:
    """One aggregate: ``op`` over the column's comparable value (see :func:`value_sql`)."""

    alias: str
    op: str
    column: str | None = None
    arg: float | None = None


@dataclass(frozen=True)
class ColumnRead:
    """How a column is read for comparison: its kind and the input dtype it is cast from."""

    name: str
    kind: ColumnKind
    dtype: pl.DataType


# -- the data source -----------------------------------------------------------------------
@dataclass
class Source:
    """An input on one engine — a polars LazyFrame, a duckdb relation or a Spark DataFrame — with
    its schema as polars dtypes. ``unsupported``: Spark columns of nested or binary types (typed
    ``pl.Null`` in ``schema``), refused by name when a check would read them."""

    name: str
    engine: Engine
    schema: pl.Schema
    lf: pl.LazyFrame | None = None
    rel: Any = None
    sdf: Any = None
    unsupported: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        """How SQL names this input."""
        if self.engine == "spark":
            from workbench.engine._spark import view_name

            return view_name(self.sdf)
        return "src"

    def query(self, text: str) -> pl.DataFrame:
        """Run one SQL statement over :attr:`table` (duckdb or Spark) and return its small result."""
        if self.engine == "spark":
            from workbench.engine._spark import run_sql

            return run_sql(self.sdf, text, name=self.name, check="drift")
        import duckdb

        try:
            return int64_counts(self.rel.query("src", text).pl())
        except duckdb.Error as exc:
            raise InputError(f"{self.name}: could not compute drift summaries in duckdb: {exc}") from exc

    def run(self, queries: Sequence[Query]) -> list[pl.DataFrame]:
        """Execute queries against this source; polars plans are collected together."""
        if self.engine == "polars":
            assert self.lf is not None
            try:
                first, *rest = [_column_groups(q) for q in queries]
                # the first part of every query runs together; the other parts of a wide ungrouped
                # query (a few columns each) one after the other: same time, far less memory
                results = pl.collect_all([parts[0].polars(self.lf) for parts in (first, *rest)], engine="streaming")
                out = []
                for frame, parts in zip(results, (first, *rest), strict=True):
                    more = [part.polars(self.lf).collect(engine="streaming") for part in parts[1:]]
                    out.append(pl.concat([frame, *more], how="horizontal") if more else frame)
                return out
            except pl.exceptions.PolarsError as exc:
                raise InputError(f"{self.name}: could not compute drift summaries: {exc}") from exc
        table = self.table
        if self.engine == "spark":
            out: dict[int, pl.DataFrame] = {}
            batches: dict[tuple, list[int]] = {}
            for i, q in enumerate(queries):  # value counts with the same grouping share one scan
                if q.value_counts is not None and q.value_counts.kind in ("categorical", "boolean"):  # text values
                    batches.setdefault((q.keys, q.timestamp, q.window_us, q.stride), []).append(i)
            for members in batches.values():
                if len(members) > 1:
                    out |= dict(zip(members, self._spark_value_counts([queries[i] for i in members], table),
                                    strict=True))
            return [out[i] if i in out else self._spark_run(q, table) for i, q in enumerate(queries)]
        return [self.query(q.sql(self.engine, table, self.schema, self._valid_counts(q, table)))
                for q in queries]

    def _spark_run(self, query: Query, table: str) -> pl.DataFrame:
        """One query on Spark, in parts of a few columns: a query with hundreds of aggregates
        exceeds the size of method Spark compiles and runs interpreted, three times slower.
        Parts of a grouped query are joined on their group columns."""
        if any(a.op == "quantiles" for a in query.aggs) and (sample := self._edge_sample(query, table)) is not None:
            return sample
        parts = _column_groups(query, grouped=True)
        frames = [self.query(part.sql("spark", table, self.schema, self._valid_counts(part, table)))
                  for part in parts]
        if len(frames) == 1:
            return frames[0]
        keys = [c for c in frames[0].columns if c in query.group_names()]
        if not keys:
            return pl.concat(frames, how="horizontal")
        out = frames[0]
        for frame in frames[1:]:
            out = out.join(frame, on=keys, how="full", coalesce=True, nulls_equal=True)
        return out

    def _spark_value_counts(self, queries: list[Query], table: str) -> list[pl.DataFrame]:
        """Value counts of several columns with one grouping in one Spark job and one scan: each
        row is stacked once per column (``stack``) and counted by (group, column, value); each
        query gets the rows of its column, as its own query would return them."""
        first = queries[0]
        group = first.group_expressions("spark", self.schema)
        names = [name for _, name in group]
        stacked = ", ".join(f"{i}, {value_sql(q.value_counts, 'spark')}" for i, q in enumerate(queries))  # type: ignore[arg-type]
        inner = (f"SELECT {''.join(f'{expr} AS {name}, ' for expr, name in group)}"
                 f"stack({len(queries)}, {stacked}) AS ({STACKED}, {VALUE}) "
                 f"FROM {_strided_sql(table, first.stride, 'spark', first.columns())}")
        keys = ", ".join([*names, STACKED, VALUE])
        counts = self.query(f"SELECT {keys}, COUNT(*) AS {COUNT} FROM ({inner}) GROUP BY {keys}")
        return [counts.filter(pl.col(STACKED) == i).drop(STACKED) for i in range(len(queries))]

    def _edge_sample(self, query: Query, table: str) -> pl.DataFrame | None:
        """Bin edges on Spark from the edge sample itself: the strided rows of the numeric columns
        (at most ``EDGE_SAMPLE_ROWS``) come to the driver and polars takes the same quantiles as on
        the polars engine. ``None`` when the sample is larger (every row asked for): the cluster's
        percentile_disc then ranks them."""
        aggs = [a for a in query.aggs if a.op == "quantiles"]
        strided = _strided_sql(table, query.stride, "spark", query.columns())
        rows = int(self.query(f"SELECT count(*) FROM {strided}").item())
        if rows > EDGE_SAMPLE_ROWS:
            return None
        select = ", ".join(f"{value_sql(query.reads[a.column], 'spark')} AS {quote(a.alias, 'spark')}"  # type: ignore[index]
                           for a in aggs)
        values = self.query(f"SELECT {select} FROM {strided}")
        probs = list(aggs[0].arg)  # type: ignore[arg-type]
        return values.select(pl.col(a.alias).cast(pl.Float64).fill_nan(None).quantile(probs, "lower")
                             for a in aggs)

    def _valid_counts(self, query: Query, table: str) -> dict[str, int]:
        """duckdb's and Spark's exact discrete quantiles are the SQL standard's (the first value whose
        cumulative share reaches p, rank ceil(p·n) − 1); polars' ``lower`` takes rank floor(p·(n − 1)).
        Counting the values first lets the SQL ask for the polars rank (see :func:`_disc_probs`)."""
        columns = [a.column for a in query.aggs if a.op == "quantiles"]
        if not columns:
            return {}
        counts = Query(tuple(Agg(alias(c, "finite"), "finite_or_inf", c) for c in columns),  # type: ignore[arg-type]
                       query.reads, stride=query.stride)
        row = self.query(counts.sql(self.engine, table, self.schema)).row(0, named=True)  # type: ignore[arg-type]
        return {c: int(row[alias(c, "finite")]) for c in columns}  # type: ignore[misc]


COLUMNS_PER_PART = 5
EDGE_SAMPLE_ROWS = 200_000  # Spark: edge samples up to this many rows are ranked on the driver


def _column_groups(query: Query, *, grouped: bool = False) -> list[Query]:
    """An ungrouped query (with ``grouped``, any query without value counts) over many columns,
    split into parts of at most :data:`COLUMNS_PER_PART` columns each (the first keeps the
    column-less aggregates); any other query as it is. Ungrouped parts yield one row each, so
    their results join side by side; grouped parts join on the group columns."""
    if query.value_counts is not None or (not grouped and (query.window_us or query.keys)):
        return [query]
    columns = list(dict.fromkeys(a.column for a in query.aggs if a.column is not None))
    if len(columns) <= COLUMNS_PER_PART:
        return [query]
    groups = [set(columns[i:i + COLUMNS_PER_PART]) for i in range(0, len(columns), COLUMNS_PER_PART)]
    parts = [[a for a in query.aggs if a.column is None or a.column in groups[0]]]
    parts += [[a for a in query.aggs if a.column in group] for group in groups[1:]]
    return [replace(query, aggs=tuple(aggs)) for aggs in parts]


# -- queries --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """``aggs`` grouped by ``keys`` (segment columns and, if ``window_us``, the window index of
    ``timestamp``); with ``value_counts``, also grouped by that column's value."""

    aggs: tuple[Agg, ...]
    reads: dict[str, ColumnRead]
    keys: tuple[str, ...] = ()
    timestamp: str | None = None
    window_us: int | None = None
    value_counts: ColumnRead | None = None
    stride: int = 1  # aggregate every ``stride``-th row only (bin edges of a large reference)

    def group_names(self) -> list[str]:
        """The result's group columns."""
        return [*([WINDOW] if self.window_us else []), *self.keys, *([VALUE] if self.value_counts else [])]

    def columns(self) -> list[str]:
        """The user columns the query reads (its aggregated columns, keys and timestamp)."""
        used = [*(a.column for a in self.aggs if a.column is not None), *self.keys,
                *([self.timestamp] if self.window_us else []),
                *([self.value_counts.name] if self.value_counts is not None else [])]
        return list(dict.fromkeys(used))  # type: ignore[arg-type]

    # polars ----------------------------------------------------------------------------
    def polars(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        if self.stride > 1:  # on the frame, not in the expressions: keeps the scan streaming
            lf = lf.gather_every(self.stride)
        aggs = [_polars_agg(a, self.reads) for a in self.aggs]
        group: list[pl.Expr] = []
        if self.window_us:
            group.append((pl.col(self.timestamp).dt.epoch("us") // self.window_us).alias(WINDOW))
        group += [pl.col(k).cast(pl.String) for k in self.keys]
        if self.value_counts is not None:
            group.append(polars_value(self.value_counts).alias(VALUE))
        if not group:
            return lf.select(aggs)
        return lf.group_by(group).agg(aggs)

    # SQL --------------------------------------------------------------------------------
    def group_expressions(self, dialect: Dialect, schema: pl.Schema | None) -> list[tuple[str, str]]:
        """(expression, quoted name) of the window index and segment keys, in ``dialect``."""
        group = []
        if self.window_us:
            dtype = schema[self.timestamp] if schema is not None else pl.Datetime("us")  # type: ignore[index]
            epoch = epoch_us_sql(self.timestamp, dtype, dialect)  # type: ignore[arg-type]
            group.append((floor_div_sql(epoch, int(self.window_us), dialect), quote(WINDOW, dialect)))
        text = "STRING" if dialect == "spark" else "VARCHAR"
        return group + [(f"CAST({quote(k, dialect)} AS {text})", quote(k, dialect)) for k in self.keys]

    def sql(self, dialect: Dialect = "duckdb", table: str = "src", schema: pl.Schema | None = None,
            valid: dict[str, int] | None = None) -> str:
        """The query in ``dialect`` over ``table``. ``schema`` gives the timestamp's dtype (for the
        window index); ``valid`` the number of non-missing values per quantile column (Spark)."""
        group = [f"{expr} AS {name}" for expr, name in self.group_expressions(dialect, schema)]
        if self.value_counts is not None:
            group.append(f"{value_sql(self.value_counts, dialect)} AS {quote(VALUE, dialect)}")
        cols = group + [f"{_sql_agg(a, self.reads, dialect, valid or {})} AS {quote(a.alias, dialect)}"
                        for a in self.aggs]
        sql = f"SELECT {', '.join(cols)} FROM {_strided_sql(table, self.stride, dialect, self.columns())}"
        if group:
            sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(group)))
        return sql


def _strided_sql(table: str, stride: int, dialect: Dialect, columns: Sequence[str]) -> str:
    """Every ``stride``-th row of ``columns``: in row order on duckdb; on Spark, every ``stride``-th
    row of each partition (by ``monotonically_increasing_id``, so no shuffle; all rows in order for
    one partition). Only ``columns`` are kept, so the row-number column meets no other user column."""
    if stride <= 1:
        return table
    cols = ", ".join(quote(c, dialect) for c in columns)
    rn = ROW_NUMBER
    if dialect == "spark":
        return (f"(SELECT {cols} FROM (SELECT {cols}, monotonically_increasing_id() AS {rn} FROM {table}) "
                f"WHERE {rn} % {stride} = 0)")
    return (f"(SELECT {cols} FROM (SELECT {cols}, row_number() OVER () AS {rn} FROM {table}) "
            f"WHERE ({rn} - 1) % {stride} = 0)")


# -- comparable values ----------------------------------------------------------------------
def polars_value(read: ColumnRead) -> pl.Expr:
    """The column as compared: Float64 for numeric/datetime kinds, String for categorical ones.

    Strings read as numbers parse leniently (unparseable → null, counted as ``unparsed``);
    datetimes become epoch microseconds; booleans become ``"true"``/``"false"``."""
    col, dtype = pl.col(read.name), read.dtype
    if read.kind in ("numeric", "datetime"):
        if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
            return col.cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64) if dtype == pl.Date else \
                col.dt.epoch("us").cast(pl.Float64)
        if dtype == pl.String:
            return col.str.strip_chars().cast(pl.Float64, strict=False)
        return col if dtype == pl.Float64 else col.cast(pl.Float64, strict=False)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
    return col.cast(pl.String)


def value_sql(read: ColumnRead, dialect: Dialect = "duckdb") -> str:
    """SQL twin of :func:`polars_value`."""
    col, dtype = quote(read.name, dialect), read.dtype
    if read.kind in ("numeric", "datetime"):
        if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
            return f"CAST({epoch_us_sql(read.name, dtype, dialect)} AS DOUBLE)"
        if dtype == pl.String:
            return f"TRY_CAST(trim({col}) AS DOUBLE)"
        if dtype == pl.Float64:
            return col
        return f"CAST({col} AS DOUBLE)" if dtype.is_numeric() else f"TRY_CAST({col} AS DOUBLE)"
    if dtype == pl.Boolean:
        return f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    return f"CAST({col} AS {'STRING' if dialect == 'spark' else 'VARCHAR'})"


def _polars_agg(a: Agg, reads: dict[str, ColumnRead]) -> pl.Expr:
    if a.op == "rows":
        return pl.len().cast(pl.Int64).alias(a.alias)
    read = reads[a.column]  # type: ignore[index]
    v = polars_value(read)
    match a.op:
        case "nulls":
            expr = pl.col(read.name).is_null().sum()
        case "missing":  # null after reading (includes unparseable strings)
            expr = v.is_null().sum()
        case "nans":
            expr = v.is_nan().sum()
        case "le":
            expr = (v <= a.arg).sum()
        case "lt":
            expr = (v < a.arg).sum()
        case "sum":
            expr = v.sum()
        case "min":  # NaN is ignored, infinities count
            expr = v.min()
        case "max":
            expr = v.max()
        case "quantiles":
            return v.fill_nan(None).quantile(list(a.arg), "lower").alias(a.alias)  # type: ignore[arg-type]
        case _:
            raise ValueError(f"unknown aggregate {a.op!r}")
    if a.op in ("sum", "min", "max"):
        return expr.cast(pl.Float64).alias(a.alias)
    return expr.cast(pl.Int64).alias(a.alias)


def _sql_agg(a: Agg, reads: dict[str, ColumnRead], dialect: Dialect, valid: dict[str, int]) -> str:
    if a.op == "rows":
        return "COUNT(*)"
    read = reads[a.column]  # type: ignore[index]
    v = value_sql(read, dialect)
    # a sum of 0/1 flags: duckdb evaluates it 6x faster than COUNT(*) FILTER (WHERE ...); null counts 0
    count = "COALESCE(SUM(CAST(({}) AS INTEGER)), 0)"
    match a.op:
        case "nulls":
            return count.format(f"{quote(read.name, dialect)} IS NULL")
        case "missing":
            return count.format(f"{v} IS NULL")
        case "nans":
            return count.format(f"isnan({v})")
        case "finite_or_inf":  # neither null nor NaN: the values a quantile ranks
            return count.format(f"{v} IS NOT NULL AND NOT isnan({v})")
        case "le":
            return count.format(f"{v} <= {float_literal(a.arg, dialect)}")
        case "lt":
            return count.format(f"{v} < {float_literal(a.arg, dialect)}")
        case "sum":
            return f"CAST(SUM({v}) AS DOUBLE)"
        case "min":
            return f"CAST(MIN({v}) FILTER (WHERE NOT isnan({v})) AS DOUBLE)"
        case "max":
            return f"CAST(MAX({v}) FILTER (WHERE NOT isnan({v})) AS DOUBLE)"
        case "quantiles":
            probs = _disc_probs(list(a.arg), valid.get(read.name, 0))  # type: ignore[arg-type]
            if not probs:
                return "CAST(NULL AS ARRAY<DOUBLE>)" if dialect == "spark" else "CAST(NULL AS DOUBLE[])"
            if dialect == "spark":
                parts = [f"percentile_disc(CAST('{q!r}' AS DOUBLE)) WITHIN GROUP (ORDER BY {v}) "
                         f"FILTER (WHERE NOT isnan({v}))" for q in probs]
                return f"array({', '.join(parts)})"
            return f"quantile_disc({v}, [{', '.join(repr(q) for q in probs)}]) FILTER (WHERE NOT isnan({v}))"
    raise ValueError(f"unknown aggregate {a.op!r}")


def _disc_probs(probs: list[float], n: int) -> list[float]:
    """Probabilities p' for which the SQL standard's discrete quantile (rank ceil(p'·n) − 1, 0-based)
    is the value at rank floor(p·(n − 1)), polars' ``lower``: p' = (floor(p·(n − 1)) + ½) / n.
    Empty when there are no values."""
    return [(math.floor(p * (n - 1)) + 0.5) / n for p in probs] if n else []


def bucketize(counts: pl.DataFrame, top: Sequence[str], known: Sequence[str] | None) -> pl.DataFrame:
    """Map value counts to the profile's bins, numbered (so no category value can be taken for a
    bin): ``i`` for the kept category ``top[i]``, ``len(top)`` (:func:`other_bucket`) for a known
    rare one, ``len(top) + 1`` (:func:`new_bucket`) for one never seen in the reference (the
    other bucket too when the known set was not kept); null stays null. Then add up counts per
    bin (column :data:`BUCKET`). Runs on the small value-count table."""
    v = pl.col(VALUE)
    index = v.replace_strict(list(top), list(range(len(top))), default=None, return_dtype=pl.Int64)
    bucket = pl.when(v.is_null()).then(None).when(v.is_in(list(top))).then(index)
    bucket = bucket.otherwise(other_bucket(top)) if known is None else \
        bucket.when(v.is_in(list(known))).then(other_bucket(top)).otherwise(new_bucket(top))
    keys = [c for c in counts.columns if c not in (VALUE, COUNT)]
    return counts.with_columns(bucket.alias(BUCKET)).group_by([*keys, BUCKET]).agg(pl.col(COUNT).sum())


def other_bucket(top: Sequence[str]) -> int:
    """The bin of known rare categories (:func:`bucketize`)."""
    return len(top)


def new_bucket(top: Sequence[str]) -> int:
    """The bin of categories never seen in the reference (:func:`bucketize`)."""
    return len(top) + 1


# -- the summaries drift needs ---------------------------------------------------------------
def numeric_aggs(name: str, edges: Sequence[float], lo: float | None = None, hi: float | None = None, *,
                 prefix: str | None = None, lossless: bool = False) -> list[Agg]:
    """The summaries of one numeric column, the same for reference and current: null count,
    cumulative ``<= edge`` counts (differences give the bin counts), ``valid`` (values
    ``<= +inf``: neither null, unparseable nor NaN), the plain ``sum`` (not finite when a NaN or
    an infinity is present; the mean is then not reported) and, given the reference range
    ``[lo, hi]``, the counts ``< lo`` and ``<= hi``. Aliases are ``alias(prefix, op)`` (``prefix``
    defaults to the column name). ``lossless=True`` says the column is already numeric, so no
    value can fail to parse and ``missing`` (nulls after reading) is not needed."""
    p = prefix or name
    ops = ["nulls", "sum"] if lossless else ["nulls", "missing", "sum"]
    aggs = [Agg(alias(p, op), op, name) for op in ops]
    aggs += [Agg(alias(p, f"le{i}"), "le", name, float(e)) for i, e in enumerate(edges)]
    aggs.append(Agg(alias(p, "valid"), "le", name, float("inf")))
    if lo is not None and hi is not None:
        aggs += [Agg(alias(p, "below"), "lt", name, float(lo)), Agg(alias(p, "le_hi"), "le", name, float(hi))]
    return aggs


def value_count_query(read: ColumnRead, **grouping: Any) -> Query:
    """Value counts of a categorical column (one row per distinct value and group)."""
    return Query((Agg(COUNT, "rows"),), {read.name: read}, value_counts=read, **grouping)
