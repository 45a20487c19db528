"""``read_spans``: one row per span from an OTLP/JSON export or a flattened span table.

The columns (one name per concept; a span attribute that is not one of them stays in ``attributes``):

==============================  =====================  ================================================
column                          dtype                  meaning
==============================  =====================  ================================================
``trace_id``                    str                    32 lower-case hex digits (base64 ids are converted)
``span_id``                     str                    16 lower-case hex digits
``parent_span_id``              str or null            the parent's ``span_id``; null for a root span
``name``                        str                    the span's name
``kind``                        str                    internal, server, client, producer, consumer, unspecified
``start_time``, ``end_time``    datetime[µs, UTC]      the span's start and end (nanoseconds cut to µs)
``duration_ms``                 f64                    end minus start in milliseconds (from the ns values)
``status_code``                 str                    unset, ok or error
``status_message``              str or null            the status description
``service.name``                str or null            from the span's resource
``scope_name``                  str or null            the instrumentation scope
``gen_ai.operation.name``       str or null            GenAI semantic conventions, typed
``gen_ai.provider.name``        str or null            ``gen_ai.provider.name``, else the older ``gen_ai.system``
``gen_ai.request.model``        str or null
``gen_ai.response.model``       str or null
``gen_ai.usage.input_tokens``   i64 or null            null when absent or invalid (see ``invalid_tokens``)
``gen_ai.usage.output_tokens``  i64 or null
``attributes``                  list[{key, value}]     every span attribute, its value as text
``is_root``                     bool                   no parent
``parent_missing``              bool                   has a parent id that no span of the trace has
``clock_skew``                  bool                   starts before its parent (clocks of two hosts disagree)
``negative_duration``           bool                   ends before it starts
``invalid_tokens``              bool                   a token count that is negative or not an integer
==============================  =====================  ================================================

Spans flagged are kept: a check decides what they mean. Attributes chosen with ``attributes=[...]``
come as extra typed columns under their own names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from workbench.engine.inputs import FrameLike, to_lazy
from workbench.engine.reserved import PREFIX
from workbench.errors import ConfigError, InputError
from workbench.params import column_names
from workbench.telemetry import otlp
from workbench.telemetry.sources import (
    JsonFile,
    diagnose,
    find_files,
    inspect_json,
    is_table,
    read_bytes,
)

UTC_US = pl.Datetime("us", "UTC")
GENAI_TEXT = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model")
TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
FLAGS = ("is_root", "parent_missing", "clock_skew", "negative_duration", "invalid_tokens")
PAIRS = pl.List(pl.Struct({"key": pl.String(), "value": pl.String()}))
SPAN_COLUMNS: dict[str, pl.DataType] = {
    "trace_id": pl.String(), "span_id": pl.String(), "parent_span_id": pl.String(), "name": pl.String(),
    "kind": pl.String(), "start_time": UTC_US, "end_time": UTC_US, "duration_ms": pl.Float64(),
    "status_code": pl.String(), "status_message": pl.String(), "service.name": pl.String(),
    "scope_name": pl.String(), **dict.fromkeys(GENAI_TEXT, pl.String()), **dict.fromkeys(TOKENS, pl.Int64()),
    "attributes": PAIRS, **dict.fromkeys(FLAGS, pl.Boolean()),
}
REQUIRED = ("trace_id", "span_id", "name", "start_time", "end_time")
_RAW = f"{PREFIX}raw_"  # the text of a token count before it is checked
_PARENT_START = f"{PREFIX}parent_start"


def read_spans(source: FrameLike | Iterable[str | Path], *, attributes: str | Sequence[str] = ()) -> pl.DataFrame:
    """Read spans into one row per span (the columns are listed in this module's docstring).

    ``source``: an OTLP/JSON trace export — JSON lines as the OpenTelemetry Collector's file exporter
    writes them (one ``ExportTraceServiceRequest`` per line), or one JSON document, gzip-compressed or
    not — as a path, a glob, a folder of files or a list of them; or a flattened span table (parquet or
    CSV files, a polars / pandas / arrow frame) with the columns above (only ``trace_id``, ``span_id``,
    ``name``, ``start_time`` and ``end_time`` are required; its other columns are kept as they are).
    ``attributes``: span attribute keys to add as typed columns (int, float, bool or text, as the
    export typed them), e.g. ``["http.route"]``.

    Returns a polars DataFrame, one row per span in the order of the files (a folder's or a glob's
    sorted by name), of their lines and of the spans within a line. It is read once: the JSON is parsed
    here, by polars, and the problems below are found now. Use ``.lazy()`` to build on it and
    ``write_parquet`` to keep it (a parquet is read several times faster than the JSON).
    Raises :class:`InputError` naming the file, the line or the span and the fix for a file that is
    not an OTLP trace export, a cut or invalid line, ids that are neither hex nor base64, spans
    without times, or no spans at all.
    """
    keys = column_names(attributes, name="attributes", owner="read_spans")
    clash = sorted(set(keys) & set(SPAN_COLUMNS))
    if clash:
        raise ConfigError(f"The 'attributes' parameter of read_spans names {clash}, which read_spans already "
                          "returns as columns; leave them out.")
    if _is_path_like(source):
        files = find_files(source)
        tables = [f for f in files if is_table(f)]
        if tables and len(tables) < len(files):
            raise InputError(f"spans: {source!r} mixes flattened tables {[t.name for t in tables][:3]} and OTLP "
                             "exports; read them separately and concatenate the results.")
        if not tables:
            return _finish(_read_otlp([inspect_json(f) for f in files], keys), typed=keys, name=str(source))
        source = [str(t) for t in tables]
    return _finish(_read_table(source, keys), typed=[], name="spans")


def _is_path_like(source: Any) -> bool:
    if isinstance(source, str | Path):
        return True
    return isinstance(source, list | tuple) and all(isinstance(s, str | Path) for s in source) and bool(source)


def _read_otlp(files: list[JsonFile], keys: list[str]) -> pl.DataFrame:
    """Read the export's lines (one scan for the plain JSON-lines files), parse them with polars
    (:func:`otlp.decode`) and flatten them to one row per span."""
    plain = [f for f in files if f.layout == "lines" and not f.gzipped]
    others = [f for f in files if f.layout == "document" or (f.layout == "lines" and f.gzipped)]
    if not plain and not others:
        raise InputError(f"spans: every file is empty ({', '.join(str(f.path) for f in files[:3])}); "
                         "an export holds at least one span.")
    try:
        parts = [otlp.scan_lines([f.path for f in plain])] if plain else []
        parts += [otlp.scan_lines(read_bytes(f)) for f in others]
        lines = pl.concat(parts, how="vertical").filter(pl.col(otlp.LINE).str.strip_chars() != "").collect()
        return pl.concat([_parse(chunk, keys) for chunk in _chunks(lines)], how="vertical")
    except pl.exceptions.PolarsError as exc:
        raise _first_bad_file(plain + others, exc) from None


CHUNK_BYTES = 64_000_000  # JSON text parsed at once: bounds the nested intermediate (a 1 GB export: 16 chunks)


def _chunks(lines: pl.DataFrame) -> list[pl.DataFrame]:
    """The lines in slices of about :data:`CHUNK_BYTES` of text each (one, empty, when there are none)."""
    total = int(lines.select(pl.col(otlp.LINE).str.len_bytes().sum()).item() or 0)
    size = max(1, lines.height * CHUNK_BYTES // max(total, 1))
    return [lines.slice(start, size) for start in range(0, lines.height, size)] or [lines]


def _parse(lines: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One chunk of lines as one row per span, in the lines' order."""
    df = _otlp_columns(otlp.flatten(otlp.decode(lines).lazy()), keys).collect()
    if not df.get_column(otlp.ORDER).is_sorted():
        df = df.sort(otlp.ORDER, maintain_order=True)
    return df.drop(otlp.ORDER)


def _first_bad_file(files: list[JsonFile], exc: Exception) -> InputError:
    for f in files:
        error = diagnose(f, exc)
        if "could not be read" not in str(error):
            return error
    return InputError(f"spans: the export could not be parsed as OTLP/JSON: {exc}")


def _otlp_columns(lf: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    span = pl.col("span")
    attrs = span.struct.field("attributes")
    status = span.struct.field("status")
    text = {k: otlp.attribute(attrs, k).alias(k) for k in (*GENAI_TEXT, "gen_ai.system")}
    return lf.select(
        otlp.ORDER, span.struct.field("traceId").alias("trace_id"), span.struct.field("spanId").alias("span_id"),
        span.struct.field("parentSpanId").alias("parent_span_id"), span.struct.field("name"),
        otlp.enum_text(span.struct.field("kind"), otlp.SPAN_KINDS, "SPAN_KIND_").alias("kind"),
        _ns_time(span.struct.field("startTimeUnixNano")).alias("start_time"),
        _ns_time(span.struct.field("endTimeUnixNano")).alias("end_time"),
        ((span.struct.field("endTimeUnixNano").cast(pl.Int64, strict=False)
          - span.struct.field("startTimeUnixNano").cast(pl.Int64, strict=False)) / 1e6).alias("duration_ms"),
        otlp.enum_text(status.struct.field("code"), otlp.STATUS_CODES, "STATUS_CODE_").alias("status_code"),
        status.struct.field("message").replace("", None).alias("status_message"),
        otlp.attribute(pl.col("resource"), "service.name").alias("service.name"), "scope_name",
        *(e for k, e in text.items() if k != "gen_ai.provider.name"),
        pl.coalesce(text["gen_ai.provider.name"], text["gen_ai.system"]).alias("gen_ai.provider.name"),
        *(otlp.attribute(attrs, k).alias(f"{_RAW}{k}") for k in TOKENS),
        otlp.as_pairs(attrs).fill_null(pl.lit([], PAIRS)).alias("attributes"),
        *(_typed_attribute(attrs, k) for k in keys),
    ).drop("gen_ai.system")


def _ns_time(ns_text: pl.Expr) -> pl.Expr:
    """Nanoseconds since the epoch (text or number) as a UTC datetime in µs (the ns cut, not rounded)."""
    micros = ns_text.cast(pl.Int64, strict=False).floordiv(1000)
    return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")


_TYPED = {"int": "intValue", "float": "doubleValue", "bool": "boolValue"}


def _typed_attribute(attrs: pl.Expr, key: str) -> pl.Expr:
    """Attribute ``key`` as a struct of its int, float, bool and text readings (one is chosen after reading)."""
    return pl.struct(otlp.attribute(attrs, key).alias("text"),
                     *(otlp.attribute(attrs, key, field).alias(kind) for kind, field in _TYPED.items())).alias(key)


def _choose_types(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Each chosen attribute as one typed column: int, float or bool where every value has that type, else text."""
    exprs = []
    for key in keys:
        parts = df.get_column(key).struct.unnest()
        present, ints, floats, bools = (int(parts[f].is_not_null().sum()) for f in ("text", "int", "float", "bool"))
        col = pl.col(key).struct
        if present and ints == present:
            exprs.append(col.field("int").cast(pl.Int64).alias(key))
        elif present and ints + floats == present:
            exprs.append(pl.coalesce(col.field("float").cast(pl.Float64), col.field("int").cast(pl.Float64))
                         .alias(key))
        elif present and bools == present:
            exprs.append(col.field("bool").alias(key))
        else:
            exprs.append(col.field("text").alias(key))
    return df.with_columns(exprs) if exprs else df


def _read_table(source: FrameLike, keys: list[str]) -> pl.DataFrame:
    """A flattened span table: the documented columns, checked and typed; other columns kept."""
    if isinstance(source, list):
        paths = [str(s) for s in source]
        lf = pl.scan_csv(paths, try_parse_dates=True) if paths[0].endswith(".csv") else pl.scan_parquet(paths)
    else:
        lf = to_lazy(source, name="spans")
    try:
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"spans: could not read the table: {exc}") from exc
    missing = [c for c in REQUIRED if c not in schema]
    if missing:
        raise InputError(f"spans: the table lacks the column(s) {missing}. A flattened span table has the columns "
                         f"{list(REQUIRED)} at least (see docs/traces.md); its columns are {list(schema)[:12]}.")
    absent = [c for c in keys if c not in schema]
    if absent:
        raise InputError(f"spans: attributes={absent} are not columns of the table; a flattened table keeps its "
                         "attributes as columns.")
    times = [_utc(c, schema[c]) for c in ("start_time", "end_time")]
    defaults = [pl.lit(None, dtype).alias(c) for c, dtype in SPAN_COLUMNS.items()
                if c not in schema and c not in (*FLAGS, "duration_ms", "kind", "status_code")]
    lf = lf.with_columns(
        *times, *defaults,
        *((pl.col(k).cast(pl.String) if k in schema else pl.lit(None, pl.String)).alias(f"{_RAW}{k}") for k in TOKENS),
        pl.col("kind").fill_null("unspecified") if "kind" in schema else pl.lit("unspecified").alias("kind"),
        pl.col("status_code").fill_null("unset") if "status_code" in schema else pl.lit("unset").alias("status_code"),
    ).with_columns(
        pl.col("duration_ms") if "duration_ms" in schema else
        ((pl.col("end_time") - pl.col("start_time")).dt.total_microseconds() / 1000).alias("duration_ms"))
    return lf.collect()


def _utc(column: str, dtype: pl.DataType) -> pl.Expr:
    """A time column of a flattened table as datetime[µs, UTC] (a naive one is read as UTC)."""
    if not isinstance(dtype, pl.Datetime):
        hint = " Parse it first, e.g. pl.col(c).str.to_datetime()." if dtype == pl.String else ""
        raise InputError(f"spans: column {column!r} must be a datetime, got {dtype}.{hint}")
    expr = pl.col(column)
    expr = expr.dt.convert_time_zone("UTC") if dtype.time_zone else expr.dt.replace_time_zone("UTC")
    return expr.cast(UTC_US)


def _finish(df: pl.DataFrame, *, typed: list[str], name: str) -> pl.DataFrame:
    """Ids as hex, tokens checked, problems refused or flagged, the ``typed`` attributes given their type;
    the documented columns first."""
    if df.height == 0:
        raise InputError(f"{name}: no spans found. An OTLP export holds resourceSpans[].scopeSpans[].spans[]; "
                         "check that the file comes from a traces pipeline and is not empty.")
    ids = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}
    df = df.with_columns(_hex_id(column, size) for column, size in ids.items() if not _is_hex(df, column, size))
    _refuse_bad_ids(df)
    _refuse_missing_times(df)
    df = _choose_types(df.with_columns(_tokens()), typed)
    df = _flag_family(df)
    extra = [c for c in df.columns if c not in SPAN_COLUMNS and not c.startswith(PREFIX)]
    try:
        return df.select(*(pl.col(c).cast(t) for c, t in SPAN_COLUMNS.items()), *extra)
    except pl.exceptions.PolarsError as exc:
        wrong = {c: str(df.schema[c]) for c, t in SPAN_COLUMNS.items() if df.schema[c] != t}
        raise InputError(f"{name}: column(s) of the wrong type {wrong}: expected "
                         f"{ {c: str(SPAN_COLUMNS[c]) for c in wrong} } (see docs/traces.md). Convert them, or rename "
                         "them if they mean something else.") from exc


def _hex_id(column: str, size: int) -> pl.Expr:
    """An id as lower-case hex, from hex (``2 * size`` digits, any case) or base64 (standard or URL-safe,
    padded or not: ``4 * ceil(size / 3)`` characters or fewer); the lengths never overlap, so the form is
    told apart by its length. An empty or all-zero id is null (no parent); anything else is kept as it was,
    prefixed ``?`` so :func:`_refuse_bad_ids` finds it."""
    raw = pl.col(column).cast(pl.String).str.strip_chars()
    length = raw.str.len_chars()
    b64 = -(-size // 3) * 4
    missing = pl.lit(b64) - length
    padded = raw.str.replace_all("-", "+", literal=True).str.replace_all("_", "/", literal=True) + \
        pl.when(missing == 1).then(pl.lit("=")).when(missing == 2).then(pl.lit("==")).otherwise(pl.lit(""))
    decoded = padded.str.decode("base64", strict=False)
    as_hex = (pl.when((length == 2 * size) & raw.str.contains(r"^[0-9a-fA-F]+$")).then(raw.str.to_lowercase())
              .when(length.is_between(b64 - 2, b64) & (decoded.bin.size() == size)).then(decoded.bin.encode("hex"))
              .when(raw.is_not_null() & (raw != "")).then(pl.lit("?") + raw))
    return pl.when(as_hex.str.contains(r"^0+$")).then(None).otherwise(as_hex).alias(column)


def _is_hex(df: pl.DataFrame, column: str, size: int) -> bool:
    """Every id of ``column`` is already lower-case hex of ``size`` bytes and none is all zeros (the Collector's
    export, a table written by read_spans): one vectorized check instead of the conversion."""
    ids = df.get_column(column).cast(pl.String)
    pattern = f"^[0-9a-f]{{{2 * size}}}$"
    return bool(ids.drop_nulls().str.contains(pattern).all() and not ids.str.contains("^0+$").any())


def _refuse_bad_ids(df: pl.DataFrame) -> None:
    for column, size in (("trace_id", 16), ("span_id", 8), ("parent_span_id", 8)):
        bad = df.filter(pl.col(column).str.starts_with("?") | (pl.col(column).is_null() & (column != "parent_span_id")))
        if bad.height:
            row = bad.row(0, named=True)
            raise InputError(f"spans: {bad.height} span(s) have a {column} that is neither {2 * size} hex digits nor "
                             f"the base64 of {size} bytes, e.g. span {row['name']!r} with {column}="
                             f"{(row[column] or '')[1:] or None!r}. Fix the exporter, or drop those spans.")


def _refuse_missing_times(df: pl.DataFrame) -> None:
    bad = df.filter(pl.col("start_time").is_null() | pl.col("end_time").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise InputError(f"spans: {bad.height} span(s) have no readable start or end time (nanoseconds since the "
                         f"epoch), e.g. span {row['name']!r} ({row['span_id']}). Fix the exporter, or drop them.")


def _tokens() -> list[pl.Expr]:
    """Token counts as integers; a count that is negative, fractional or not a number becomes null and
    sets ``invalid_tokens``."""
    exprs, invalid = [], []
    for key in TOKENS:
        text = pl.col(f"{_RAW}{key}")
        number = text.cast(pl.Float64, strict=False)
        whole = pl.coalesce(text.cast(pl.Int64, strict=False),
                            pl.when(number == number.floor()).then(number).cast(pl.Int64, strict=False))
        valid = whole >= 0
        exprs.append(pl.when(valid).then(whole).alias(key))
        invalid.append(text.is_not_null() & ~valid.fill_null(False))
    return [*exprs, pl.any_horizontal(invalid).alias("invalid_tokens")]


def _flag_family(df: pl.DataFrame) -> pl.DataFrame:
    """Roots, missing parents, children that start before their parent, negative durations."""
    parents = (df.select("trace_id", pl.col("span_id").alias("parent_span_id"),
                         pl.col("start_time").alias(_PARENT_START))
               .unique(["trace_id", "parent_span_id"], keep="first"))
    df = df.join(parents, on=["trace_id", "parent_span_id"], how="left", maintain_order="left")
    return df.with_columns(
        pl.col("parent_span_id").is_null().alias("is_root"),
        (pl.col("parent_span_id").is_not_null() & pl.col(_PARENT_START).is_null()).alias("parent_missing"),
        (pl.col("start_time") < pl.col(_PARENT_START)).fill_null(False).alias("clock_skew"),
        (pl.col("end_time") < pl.col("start_time")).alias("negative_duration"),
    )
