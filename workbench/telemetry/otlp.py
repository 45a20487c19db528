"""OTLP/JSON trace exports as polars plans: the schema the JSON reader parses with, and the
expressions that flatten ``resourceSpans[].scopeSpans[].spans[]`` to one row per span.

The reader parses with an explicit schema (polars' JSON decoder, no per-line Python). Field names
are lowerCamelCase (the OTLP/JSON encoding); a chunk of lines that uses proto field names instead
(snake_case, which protobuf's JSON parsers accept too) has its keys renamed in the text first — only
keys, a quoted name followed by a colon, which no JSON string value can be (:func:`camel_keys`). 64-bit
integers (``intValue``, ``startTimeUnixNano``) and doubles are declared as text, so a JSON string and
a JSON number both arrive (``"12"`` and ``12``); an enum arrives as its integer (the OTLP rule) or its
name (protobuf's default JSON mapping), and both are read. An ``arrayValue``, ``kvlistValue`` or
``bytesValue`` is kept as its JSON text: the schema cannot be recursive, and a text keeps every level.

Two polars readers, one schema (:func:`decode`): ``str.json_decode`` on the lines (3-5x faster than
``read_ndjson`` on these nested lines; bench/bench_traces.py), which refuses a JSON object where the
schema says text, so the lines that hold an array or key-value list attribute go to ``read_ndjson``,
which writes such an object as its JSON text. Both give the same table (tests/test_telemetry.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from workbench.engine.reserved import PREFIX

ANY_VALUE_FIELDS = ("stringValue", "intValue", "doubleValue", "boolValue", "arrayValue", "kvlistValue", "bytesValue")
LINE = "line"
ORDER = f"{PREFIX}line"  # a line's position, to put the spans back in the order of the lines


def snake(name: str) -> str:
    """A lowerCamelCase OTLP field name as its proto field name (``startTimeUnixNano`` -> ``start_time_unix_nano``)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


ANY_VALUE = pl.Struct({f: (pl.Boolean() if f == "boolValue" else pl.String()) for f in ANY_VALUE_FIELDS})
KEY_VALUE = pl.Struct({"key": pl.String(), "value": ANY_VALUE})
ATTRIBUTES = pl.List(KEY_VALUE)
STATUS = pl.Struct({"code": pl.String(), "message": pl.String()})
SPAN = pl.Struct({
    "traceId": pl.String(), "spanId": pl.String(), "parentSpanId": pl.String(), "name": pl.String(),
    "kind": pl.String(), "startTimeUnixNano": pl.String(), "endTimeUnixNano": pl.String(),
    "attributes": ATTRIBUTES, "status": STATUS,
})
SCOPE_SPANS = pl.Struct({"scope": pl.Struct({"name": pl.String(), "version": pl.String()}), "spans": pl.List(SPAN)})
RESOURCE_SPANS = pl.Struct({"resource": pl.Struct({"attributes": ATTRIBUTES}), "scopeSpans": pl.List(SCOPE_SPANS)})
REQUEST = pl.Schema({"resourceSpans": pl.List(RESOURCE_SPANS)})

_CAMEL = ("resourceSpans", "scopeSpans", "traceId", "spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano",
          *ANY_VALUE_FIELDS)
_SNAKE_KEYS = [f'"{snake(n)}"{gap}:' for n in _CAMEL for gap in ("", " ")]
_CAMEL_KEYS = [f'"{n}":' for n in _CAMEL for _ in ("", " ")]

# OTLP enums: integer (the OTLP/JSON rule) or name (protobuf's default JSON mapping), as the names we keep
SPAN_KINDS = {"0": "unspecified", "1": "internal", "2": "server", "3": "client", "4": "producer", "5": "consumer"}
STATUS_CODES = {"0": "unset", "1": "ok", "2": "error"}


def enum_text(expr: pl.Expr, values: dict[str, str], prefix: str) -> pl.Expr:
    """An enum field (integer or ``PREFIX_NAME``) as its lower-case name; absent is the zero value."""
    names = {f"{prefix}{v.upper()}": v for v in values.values()}
    return expr.fill_null("0").replace_strict({**values, **names}, default=None, return_dtype=pl.String)


def value_text(value: pl.Expr) -> pl.Expr:
    """An AnyValue as text: the string, the integer or double as written, ``true``/``false``, the base64
    of bytes, or the OTLP/JSON text of an array or a key-value list (keys in lowerCamelCase)."""
    field = value.struct.field
    return pl.coalesce(field("stringValue"), field("intValue"), field("doubleValue"),
                       field("boolValue").cast(pl.String).str.to_lowercase(), field("arrayValue"),
                       field("kvlistValue"), field("bytesValue"))


def attribute(attributes: pl.Expr, key: str, field: str | None = None) -> pl.Expr:
    """The value of attribute ``key`` (its first entry) in a list of OTLP key-values: one AnyValue
    ``field`` (e.g. ``"intValue"``), or its text (:func:`value_text`) when ``field`` is None."""
    element = pl.element()
    value = element.struct.field("value")
    chosen = value_text(value) if field is None else value.struct.field(field)
    return attributes.list.eval(chosen.filter(element.struct.field("key") == key)).list.first()


def as_pairs(attributes: pl.Expr) -> pl.Expr:
    """The OTLP key-values as a list of ``{key, value}`` with the value as text (:func:`value_text`)."""
    element = pl.element()
    return attributes.list.eval(pl.struct(element.struct.field("key"),
                                          value_text(element.struct.field("value")).alias("value")))


def flatten(requests: pl.LazyFrame) -> pl.LazyFrame:
    """One row per span from ``ExportTraceServiceRequest`` rows parsed with :data:`REQUEST` (and their
    :data:`ORDER`): the span's struct as ``span``, its resource's attributes as ``resource`` and its
    scope's name as ``scope_name``."""
    lf = requests.select(ORDER, pl.col("resourceSpans").alias("rs")).explode("rs")
    rs = pl.col("rs")
    lf = lf.select(ORDER, rs.struct.field("resource").struct.field("attributes").alias("resource"),
                   rs.struct.field("scopeSpans").alias("ss")).explode("ss")
    ss = pl.col("ss")
    lf = lf.select(ORDER, "resource", ss.struct.field("scope").struct.field("name").alias("scope_name"),
                   ss.struct.field("spans").alias("span")).explode("span")
    return lf.filter(pl.col("span").is_not_null())


def scan_lines(source: list[Path] | io.BytesIO) -> pl.LazyFrame:
    """Every line of the files (or the buffer) as one text value in column ``line``: read as a CSV with one
    column, separated by \\x1f, which JSON text never holds raw (control characters are escaped)."""
    if isinstance(source, io.BytesIO):
        return pl.read_csv(source, has_header=False, separator="\x1f", quote_char=None, schema={LINE: pl.String()},
                           encoding="utf8-lossy").lazy()
    return pl.scan_csv(source, has_header=False, separator="\x1f", quote_char=None, schema={LINE: pl.String()},
                       encoding="utf8-lossy")


def camel_keys(lines: pl.DataFrame) -> pl.DataFrame:
    """The lines with proto (snake_case) field names renamed to lowerCamelCase, when any line has one."""
    text = pl.col(LINE)
    if not lines.select(text.str.contains_any(_SNAKE_KEYS).any()).item():
        return lines
    return lines.with_columns(text.str.replace_many(_SNAKE_KEYS, _CAMEL_KEYS))


_NESTED = ['"arrayValue":', '"kvlistValue":']


def decode(lines: pl.DataFrame) -> pl.DataFrame:
    """Parse the ``line`` column (one ExportTraceServiceRequest per line) into the :data:`REQUEST` column
    and the line's position :data:`ORDER`: ``str.json_decode`` in parallel slices for the lines without
    nested attribute values, ``read_ndjson`` for the others (see the module docstring); sort the spans by
    :data:`ORDER` after flattening to keep the lines' order."""
    lines = camel_keys(lines).with_row_index(ORDER)
    nested = lines.get_column(LINE).str.contains_any(_NESTED)
    simple = lines.filter(~nested) if nested.any() else lines
    threads = max(1, pl.thread_pool_size())
    size = max(1, -(-simple.height // threads))
    dtype = pl.Struct(REQUEST)
    plans = [simple.lazy().slice(i * size, size).select(ORDER, pl.col(LINE).str.json_decode(dtype).struct.unnest())
             for i in range(threads)]
    parts = pl.collect_all(plans)  # in parallel (a concat of the plans runs them one after the other)
    if nested.any():
        rest = lines.filter(nested)
        text = rest.get_column(LINE).str.join("\n").item().encode()
        parsed = pl.read_ndjson(io.BytesIO(text), schema=REQUEST)
        parts.append(parsed.with_columns(rest.get_column(ORDER)).select(ORDER, *REQUEST))
    return pl.concat(parts, how="vertical", rechunk=False)
