"""Where spans come from: paths, globs and folders of OTLP/JSON exports or flattened tables, told
apart by their suffix and their first line, and the diagnosis that turns a parse failure into the
file, the line and the fix.

Only the first line of each file is read in Python (to tell JSON lines from one JSON document and an
OTLP trace export from anything else); the spans themselves are parsed by polars. A file that fails to
parse is read again line by line only to name the failing line (the error path, never the normal one).
"""

from __future__ import annotations

import glob
import gzip
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workbench.errors import InputError

TABLE_SUFFIXES = (".parquet", ".pq", ".csv")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".otlp", ".gz")
Layout = Literal["lines", "document", "empty"]
EXPECTED = ("an OTLP/JSON trace export: JSON lines, each an ExportTraceServiceRequest with 'resourceSpans' "
            "(what the OpenTelemetry Collector's file exporter writes), or one such JSON document")


@dataclass(frozen=True)
class JsonFile:
    """An OTLP/JSON file: its path, whether it is gzip-compressed, and its layout."""

    path: Path
    gzipped: bool
    layout: Layout


def find_files(source: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files of ``source``: a file, a glob, a folder (its files, sorted, hidden ones left out) or
    a list of these. Raises :class:`InputError` when nothing is found."""
    items = [source] if isinstance(source, str | Path) else list(source)
    files: list[Path] = []
    for item in items:
        text = str(item)
        if any(ch in text for ch in "*?["):
            found = [Path(p) for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file()]
        elif Path(text).is_dir():
            found = sorted(p for p in Path(text).iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            found = [Path(text)] if Path(text).is_file() else []
        if not found:
            raise InputError(f"spans: no file found at {text!r}. Check the path (relative to {Path.cwd()}).")
        files.extend(found)
    return files


def is_table(path: Path) -> bool:
    """A flattened span table (parquet or CSV) rather than an OTLP/JSON export."""
    return path.suffix.lower() in TABLE_SUFFIXES


def _open(path: Path, gzipped: bool) -> io.BufferedIOBase:
    """The file opened for reading bytes, decompressed when ``gzipped``; the caller closes it."""
    return gzip.GzipFile(path, "rb") if gzipped else open(path, "rb")


def _gzipped(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def inspect_json(path: Path) -> JsonFile:
    """Tell the layout of an OTLP/JSON file from its first non-blank line, refusing what is not a trace export."""
    gzipped = _gzipped(path)
    with _open(path, gzipped) as fh:
        try:
            first = next((line for line in fh if line.strip()), b"")
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: cannot be read as gzip ({exc}); the file may be cut short or not gzip. "
                             "Check it with `gzip -t`, or decompress what can be read (`zcat`).") from exc
    if not first.strip():
        return JsonFile(path, gzipped, "empty")
    try:
        head = json.loads(first)
    except ValueError:
        if first.lstrip()[:1] in (b"{", b"["):
            return JsonFile(path, gzipped, "document")
        raise InputError(f"{path}: line 1 is not JSON, so this is not {EXPECTED}. It starts with "
                         f"{_preview(first)}{_hint(first)}") from None
    _require_traces(head, path)
    return JsonFile(path, gzipped, "lines")


def _preview(line: bytes) -> str:
    text = line.decode("utf-8", "replace").strip()
    return repr(text[:60] + ("…" if len(text) > 60 else ""))


def _hint(line: bytes) -> str:
    text = line.decode("utf-8", "replace").lstrip()
    if text.startswith(("# HELP", "# TYPE")):
        return ", which looks like Prometheus metrics text: spans come from a trace export, not a metrics scrape."
    if "," in text:
        return (". It looks like CSV: a flattened span table is read from a .csv or .parquet file "
                "(see the columns in docs/traces.md).")
    return "."


def _require_traces(document: object, path: Path, line: int = 1) -> None:
    """Refuse a JSON value that is not an ExportTraceServiceRequest (or a list of them)."""
    first = document[0] if isinstance(document, list) and document else document
    if isinstance(first, dict) and ({"resourceSpans", "resource_spans"} & set(first) or not first):
        return
    if isinstance(first, dict):
        other = next((k for k in first if k in ("resourceMetrics", "resource_metrics", "resourceLogs",
                                                "resource_logs")), None)
        what = (f"an OTLP {'metrics' if 'etric' in other else 'logs'} export ({other!r}), not traces" if other
                else f"a JSON object with the keys {sorted(first)[:8]}")
    else:
        what = f"a JSON {type(first).__name__}"
    raise InputError(f"{path}: line {line} is {what}; expected {EXPECTED}. For traces, configure the Collector's "
                     "file exporter in a traces pipeline.")


def _content(file: JsonFile) -> bytes:
    """The file's bytes, decompressed; a cut or corrupt gzip file is an :class:`InputError`."""
    try:
        with _open(file.path, file.gzipped) as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"{file.path}: cannot be read as gzip ({exc}); the file may be cut short or not gzip. "
                         "Check it with `gzip -t`, or decompress what can be read (`zcat`).") from exc


def read_bytes(file: JsonFile) -> io.BytesIO:
    """The (decompressed) content of a file as JSON lines for polars' reader: a document's line breaks
    (which valid JSON has only between tokens) become spaces, and a JSON array of requests becomes one
    line per request."""
    content = _content(file)
    if file.layout != "document":
        return io.BytesIO(content)
    content = content.replace(b"\r", b" ").replace(b"\n", b" ").strip()
    if content.startswith(b"["):
        try:
            items = json.loads(content)
        except ValueError:
            items = None  # the reader fails on it, and the diagnosis names the problem
        if isinstance(items, list):
            content = b"\n".join(json.dumps(item).encode() for item in items)
    return io.BytesIO(content + b"\n")


def diagnose(file: JsonFile, error: Exception) -> InputError:
    """The first line of ``file`` that is not an OTLP/JSON object, as an :class:`InputError` naming the
    file, the line and the fix (a truncated last line gets its own message); read line by line, on the
    error path only."""
    lines = _content(file).split(b"\n")
    ends_cut = bool(lines) and lines[-1].strip() != b""
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if file.layout == "document":
        try:
            _require_traces(json.loads(b"\n".join(lines)), file.path)
        except ValueError as exc:
            return InputError(f"{file.path}: not valid JSON ({exc}); expected {EXPECTED}.")
        return InputError(f"{file.path}: could not be read as {EXPECTED}: {error}")
    for position, (number, line) in enumerate(numbered):
        try:
            value = json.loads(line)
        except ValueError as exc:
            if position == len(numbered) - 1 and ends_cut:
                return InputError(f"{file.path}: line {number}, the last line, is cut short (truncated JSON: "
                                  f"{exc}). The exporter may still be writing the file, or it was stopped mid-write. "
                                  "Read it once the export is complete, or drop the last line (e.g. "
                                  f"`head -n {number - 1} {file.path.name} > complete.json`).")
            return InputError(f"{file.path}: line {number} is not valid JSON ({exc}); expected {EXPECTED}. "
                              f"Remove or repair that line.")
        _require_traces(value, file.path, number)
    return InputError(f"{file.path}: could not be read as {EXPECTED}: {error}")
