"""OTLP/JSON trace exports as polars plans: the schema the JSON reader parses with, and the
expressions that flatten ``resourceSpans[].scopeSpans[].spans[]`` to one row per span.

The reader parses with an explicit schema (polars' JSON decoder, no per-line Python): every
field is declared under both its lowerCamelCase name (the OTLP/JSON encoding) and its proto field name
(snake_case, which protobuf's JSON parsers accept too), and the two are coalesced. 64-bit integers
(``intValue``, ``startTimeUnixNano``) and doubles are declared as text, so a JSON string and a JSON
number both arrive (``"12"`` and ``12``); an enum arrives as its integer (the OTLP rule) or its name
(protobuf's default JSON mapping), and both are read. An ``arrayValue``, ``kvlistValue`` or
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


def snake(name: str) -> str:
    """A lowerCamelCase OTLP field name as its proto field name (``startTimeUnixNano`` -> ``start_time_unix_nano``)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _both(fields: dict[str, pl.DataType]) -> pl.Struct:
    """A struct with each field under its lowerCamelCase and its snake_case name."""
    both: dict[str, pl.DataType] = {}
    for name, dtype in fields.items():
        both[name] = dtype
        both[snake(name)] = dtype
    return pl.Struct(both)


def pick(expr: pl.Expr, name: str) -> pl.Expr:
    """Field ``name`` of struct ``expr``, from its lowerCamelCase or its snake_case spelling."""
    if snake(name) == name:
        return expr.struct.field(name)
    return pl.coalesce(expr.struct.field(name), expr.struct.field(snake(name)))


ANY_VALUE = _both({f: (pl.Boolean() if f == "boolValue" else pl.String()) for f in ANY_VALUE_FIELDS})
KEY_VALUE = pl.Struct({"key": pl.String(), "value": ANY_VALUE})
ATTRIBUTES = pl.List(KEY_VALUE)
STATUS = pl.Struct({"code": pl.String(), "message": pl.String()})
SPAN = _both({
    "traceId": pl.String(), "spanId": pl.String(), "parentSpanId": pl.String(), "name": pl.String(),
    "kind": pl.String(), "startTimeUnixNano": pl.String(), "endTimeUnixNano": pl.String(),
    "attributes": ATTRIBUTES, "status": STATUS,
})
SCOPE_SPANS = _both({"scope": pl.Struct({"name": pl.String(), "version": pl.String()}), "spans": pl.List(SPAN)})
RESOURCE_SPANS = _both({"resource": pl.Struct({"attributes": ATTRIBUTES}), "scopeSpans": pl.List(SCOPE_SPANS)})
REQUEST = pl.Schema({"resourceSpans": pl.List(RESOURCE_SPANS), "resource_spans": pl.List(RESOURCE_SPANS)})

# OTLP enums: integer (the OTLP/JSON rule) or name (protobuf's default JSON mapping), as the names we keep
SPAN_KINDS = {"0": "unspecified", "1": "internal", "2": "server", "3": "client", "4": "producer", "5": "consumer"}
STATUS_CODES = {"0": "unset", "1": "ok", "2": "error"}


def enum_text(expr: pl.Expr, values: dict[str, str], prefix: str) -> pl.Expr:
    """An enum field (integer or ``PREFIX_NAME``) as its lower-case name; absent is the zero value."""
    names = {f"{prefix}{v.upper()}": v for v in values.values()}
    return expr.fill_null("0").replace_strict({**values, **names}, default=None, return_dtype=pl.String)


_SNAKE_KEYS = [f'"{snake(f)}"' for f in (*ANY_VALUE_FIELDS, "arrayValue", "kvlistValue")]
_CAMEL_KEYS = [f'"{f}"' for f in (*ANY_VALUE_FIELDS, "arrayValue", "kvlistValue")]


def value_text(value: pl.Expr) -> pl.Expr:
    """An AnyValue as text: the string, the integer or double as written, ``true``/``false``, the base64
    of bytes, or the OTLP/JSON text of an array or a key-value list (its keys in lowerCamelCase, whichever
    spelling the export used)."""
    nested = pl.coalesce(pick(value, "arrayValue"), pick(value, "kvlistValue"))
    return pl.coalesce(
        pick(value, "stringValue"), pick(value, "intValue"), pick(value, "doubleValue"),
        pick(value, "boolValue").cast(pl.String).str.to_lowercase(),
        nested.str.replace_many(_SNAKE_KEYS, _CAMEL_KEYS), pick(value, "bytesValue"))


def attribute(attributes: pl.Expr, key: str, field: str | None = None) -> pl.Expr:
    """The value of attribute ``key`` (its first entry) in a list of OTLP key-values: one AnyValue
    ``field`` (e.g. ``"intValue"``), or its text (:func:`value_text`) when ``field`` is None."""
    element = pl.element()
    value = element.struct.field("value")
    chosen = value_text(value) if field is None else pick(value, field)
    return attributes.list.eval(chosen.filter(element.struct.field("key") == key)).list.first()


def as_pairs(attributes: pl.Expr) -> pl.Expr:
    """The OTLP key-values as a list of ``{key, value}`` with the value as text (:func:`value_text`)."""
    element = pl.element()
    return attributes.list.eval(pl.struct(element.struct.field("key"),
                                          value_text(element.struct.field("value")).alias("value")))


def flatten(requests: pl.LazyFrame) -> pl.LazyFrame:
    """One row per span from ``ExportTraceServiceRequest`` rows parsed with :data:`REQUEST`: the
    span's struct as ``span``, its resource's attributes as ``resource`` and its scope's name as
    ``scope_name``."""
    resource_spans = pl.coalesce(pl.col("resourceSpans"), pl.col("resource_spans"))
    lf = requests.select(resource_spans.alias("rs")).explode("rs")
    rs = pl.col("rs")
    lf = lf.select(pick(rs, "resource").struct.field("attributes").alias("resource"),
                   pick(rs, "scopeSpans").alias("ss")).explode("ss")
    ss = pl.col("ss")
    lf = lf.select("resource", pick(ss, "scope").struct.field("name").alias("scope_name"),
                   pick(ss, "spans").alias("span")).explode("span")
    return lf.filter(pl.col("span").is_not_null())


LINE = "line"
ORDER = f"{PREFIX}line"  # a line's position


def scan_lines(source: list[Path] | io.BytesIO) -> pl.LazyFrame:
    """Every line of the files (or the buffer) as one text value in column ``line``: read as a CSV with one
    column, separated by \\x1f, which JSON text never holds raw (control characters are escaped)."""
    if isinstance(source, io.BytesIO):
        return pl.read_csv(source, has_header=False, separator="\x1f", quote_char=None, schema={LINE: pl.String()},
                           encoding="utf8-lossy").lazy()
    return pl.scan_csv(source, has_header=False, separator="\x1f", quote_char=None, schema={LINE: pl.String()},
                       encoding="utf8-lossy")

_NESTED = "|".join(f'"{n}"' for f in ("arrayValue", "kvlistValue") for n in (f, snake(f)))


def decode(lines: pl.DataFrame) -> pl.DataFrame:
    """Parse the ``line`` column (one ExportTraceServiceRequest per line) into the :data:`REQUEST` columns,
    in the lines' order: ``str.json_decode`` in parallel slices for the lines without nested attribute
    values, ``read_ndjson`` for the others (see the module docstring)."""
    lines = lines.with_row_index(ORDER)
    nested = pl.col(LINE).str.contains(_NESTED)
    simple = lines.filter(~nested)
    threads = max(1, pl.thread_pool_size())
    size = max(1, -(-simple.height // threads))
    dtype = pl.Struct(REQUEST)
    parts = [simple.lazy().slice(i * size, size).select(ORDER, pl.col(LINE).str.json_decode(dtype).struct.unnest())
             for i in range(threads)]
    rest = lines.filter(nested)
    if rest.height:
        text = "\n".join(rest.get_column(LINE).to_list()).encode()
        parsed = pl.read_ndjson(io.BytesIO(text), schema=REQUEST)
        parts.append(parsed.with_columns(rest.get_column(ORDER)).select(ORDER, *REQUEST).lazy())
    return pl.concat(parts, how="vertical").sort(ORDER).drop(ORDER).collect()
