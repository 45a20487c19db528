"""One declaration per option: the flag, the API keyword it fills, its kind, whether it repeats, its help.

A command's table of :class:`Option` rows builds its argparse parser (:func:`add_options`) and reads its
``--config`` file (:func:`config_values`); :func:`gather` merges the two into the API's keyword arguments
(the command line wins). Every value, from the command line or from a file, goes through the same
:class:`Kind`, so ``--latency-ratio 1.5`` and ``latency_ratio: 1.5`` are checked alike; a value of the
wrong kind is a :class:`~workbench.errors.ConfigError` naming the flag or the file and key.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, did_you_mean
from workbench.findings.model import SEVERITY_RANK
from workbench.params import RENAMED, refuse_renamed


@dataclass(frozen=True)
class Kind:
    """What a value is: ``convert`` takes a command-line string or a parsed YAML/JSON value and returns the
    API's value (raising ValueError or TypeError when it is not one); ``name`` says what is expected."""

    name: str
    convert: Callable[[Any], Any]
    path: bool = False  # a file or folder: a relative path in a config file is taken from the file's folder


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(value)
    return float(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(value)
    return int(value)


def _time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):  # YAML reads an unquoted ISO time as a datetime
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.fromisoformat(_text(value))


def _pair(value: Any) -> tuple[str, str]:
    key, sep, item = _text(value).partition("=")
    if not sep or not key or not item:
        raise ValueError(value)
    return key, item


def _switch(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


TEXT = Kind("text", _text)
COLUMN = Kind("a column name", _text)
PATH = Kind("a path (parquet/CSV file, glob or folder)", _text, path=True)
OUTPUT = Kind("a file path to write", _text, path=True)
NUMBER = Kind("a number", _number)
COUNT = Kind("a whole number", _count)
TIME = Kind("an ISO time such as 2026-03-02T12:00:00+00:00", _time)
PAIR = Kind("NAME=COLUMN", _pair)
SWITCH = Kind("true or false", _switch)


@dataclass(frozen=True)
class Option:
    """One row of a command's table: ``key`` is the API keyword argument and the config key.

    ``flag`` defaults to ``--key-with-dashes``. ``repeat``: the flag may be given several times (a list
    in a config file; a mapping when the kind is :data:`PAIR`). A switch (kind :data:`SWITCH`) takes no
    value on the command line and stores ``const``. ``required``: the command needs it, from the flag or
    the file."""

    key: str
    help: str
    kind: Kind = COLUMN
    flag: str | None = None
    repeat: bool = False
    choices: tuple[str, ...] | None = None
    required: bool = False
    const: bool = True
    metavar: str | None = None

    @property
    def name(self) -> str:
        """The command-line flag."""
        return self.flag or "--" + self.key.replace("_", "-")

    def convert(self, value: Any, where: str) -> Any:
        """``value`` (one item) as the API wants it; ConfigError naming ``where`` (a flag or a file's key)."""
        try:
            converted = self.kind.convert(value)
        except (TypeError, ValueError):
            # a flag's value is always text, so only a config file's value can be a number where text is due
            hint = " Quote it in YAML." if self.kind in (TEXT, COLUMN, PATH, OUTPUT) else ""
            raise ConfigError(f"{where} expects {self.kind.name}; got {value!r}.{hint}") from None
        if self.choices is not None and converted not in self.choices:
            raise ConfigError(f"{where} must be one of {list(self.choices)}; got {value!r}.")
        return converted


def with_help(option: Option, help: str, **changes: Any) -> Option:
    """A shared option with the wording (or another field) one command needs."""
    return replace(option, help=help, **changes)


# -- shared rows: the same name means the same thing in every command -----------------------------------
CONFIG = Option("config", "YAML/JSON file of this command's options, keyed by the API argument names (a flag "
                "with _ for -: --label-time is label_time); relative paths are taken from the file's folder; "
                "flags given here override it", kind=TEXT, metavar="FILE")
ID = Option("id", "request id column: the key of one request, joining two logs or a log and its labels")
BY = Option("by", "segment column (repeatable)", repeat=True, metavar="COLUMN")
TIMESTAMP = Option("timestamp", "time column of each row")
WINDOW = Option("window", "window length, e.g. 1h, 6h, 1d (default 1d with --timestamp)", kind=TEXT)
SCORE = Option("score", "model score column")
PREDICTION = Option("prediction", "predicted class column")
TARGET = Option("target", "label column")
BINS = Option("bins", "bins per numeric column (drift: reference quantiles) or per score (calibration) "
              "(default 10)", kind=COUNT)
COLUMNS = Option("columns", "a column to compare (repeatable; default: all supported)", flag="--column",
                 repeat=True, metavar="COLUMN")
# labels that arrive after the predictions (performance and shadow)
LABELS = (
    Option("labels", "labels file (id and label columns; may arrive later)", kind=PATH),
    Option("label", "label column in --labels (default 'label')"),
    Option("label_time", "column of --labels saying when each label arrived"),
    Option("as_of", "use only labels arrived by this ISO time (needs --label-time)", kind=TIME),
)

# -- outputs: every check, not API arguments (a config file holds the check's inputs and options only) ---
OUT = Option("out", "write the findings JSON here", kind=OUTPUT)
REPORT = Option("report", "write a standalone HTML report here", kind=OUTPUT)
FAIL_ON = Option("fail_on", "exit 1 if a finding is at least this severe (default: critical; 'none' never)",
                 kind=TEXT, choices=(*SEVERITY_RANK, "none"))
QUIET = Option("quiet", "print only the one-line verdict", kind=SWITCH)
OUTPUTS = (OUT, REPORT, FAIL_ON, QUIET)

# -- closing the loop: commands that end with a verdict (shadow; next the llm and service checks) -------
# flags only, like the outputs; read by workbench.cli.finish.Outputs, run by workbench.cli.finish.close_loop
METRICS_OUT = Option("metrics_out", "write the numbers (verdict, agreement, score deltas, latency, error rates, "
                     "accuracy difference with its interval) here in the Prometheus text format", kind=OUTPUT,
                     metavar="FILE")
ON_VERDICT = (
    Option("on_rollback", "run CMD after the outputs are written when the verdict is rollback, with the verdict in "
                          "its environment (WORKBENCH_VERDICT, WORKBENCH_EXIT_CODE, WORKBENCH_FINDINGS, "
                          "WORKBENCH_REASONS, WORKBENCH_CHECK); split like a shell line, run without a shell",
           kind=TEXT, metavar="CMD"),
    Option("on_promote", "run CMD when the verdict is promote (as --on-rollback)", kind=TEXT, metavar="CMD"),
    Option("on_hold", "run CMD when the verdict is hold (as --on-rollback)", kind=TEXT, metavar="CMD"),
)
ACTION_TIMEOUT = Option("action_timeout", "seconds an --on-* command may run before it is killed (default 300)",
                        kind=NUMBER, metavar="SECONDS")
NOTIFY = Option("notify", "Slack-compatible webhook URL: post the verdict and the critical findings",
                kind=TEXT, metavar="URL")
ALERTMANAGER = Option("alertmanager", "Prometheus Alertmanager URL (e.g. http://alertmanager:9093): post the "
                      "verdict and the critical findings as alerts to its /api/v2/alerts", kind=TEXT, metavar="URL")
PAGERDUTY = Option("pagerduty", "PagerDuty Events API v2 URL (https://events.pagerduty.com/v2/enqueue): trigger or "
                   "resolve; the routing key is read from the environment variable "
                   "WORKBENCH_PAGERDUTY_ROUTING_KEY, never from the command line", kind=TEXT, metavar="URL")
ALERT_SOURCE = Option("alert_source", "what the alerts are about, e.g. the model and environment (labels, "
                      "PagerDuty source and dedup keys; default 'workbench CHECK')", kind=TEXT, metavar="NAME")
ALERT_LINK = Option("alert_link", "a link sent with the alerts (the CI job, a dashboard): Alertmanager generatorURL, "
                    "PagerDuty links", kind=TEXT, metavar="URL")
VERDICT_ACTIONS = (METRICS_OUT, *ON_VERDICT, ACTION_TIMEOUT, NOTIFY, ALERTMANAGER, PAGERDUTY, ALERT_SOURCE,
                   ALERT_LINK)


def add_options(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """Add each option as a flag. Nothing has a default here, so :func:`gather` can tell a flag that was
    given from one that was not (the API's defaults, or the config file, fill the rest)."""
    for option in options:
        if option.kind is SWITCH:
            parser.add_argument(option.name, dest=option.key, action="store_const", const=option.const,
                                default=None, help=option.help)
        else:
            parser.add_argument(option.name, dest=option.key, action="append" if option.repeat else "store",
                                choices=option.choices, metavar=option.metavar, default=None, help=option.help)


def config_values(raw: Mapping[str, Any], options: Iterable[Option], *, base: Path, where: str) -> dict[str, Any]:
    """The API keyword arguments a parsed config mapping gives: keys are the options' ``key``; a key of an
    earlier version is refused with its new name ("n_bins was renamed bins"), an unknown key with a 'did you
    mean' hint; relative paths are resolved against ``base``; null means unset."""
    table = {option.key: option for option in options}
    refuse_renamed([str(k) for k in raw if k not in table and RENAMED.get(str(k)) in table], RENAMED, where=where)
    for key in raw:
        if key not in table:
            raise ConfigError(f"{where}: unknown key {key!r}.{did_you_mean(str(key), table)} Allowed: {list(table)}.")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        option = table[key]
        items = value if isinstance(value, list) and option.repeat else [value]
        if isinstance(value, list) and not option.repeat:
            raise ConfigError(f"{where}: '{key}' takes one value, got the list {value!r}.")
        if option.kind is PAIR and isinstance(value, Mapping):
            items = [f"{k}={v}" for k, v in value.items()]
        converted = [option.convert(item, f"{where}: '{key}'") for item in items]
        if option.kind.path:
            converted = [_resolve(item, base) for item in converted]
        values[key] = _collect(option, converted)
    return values


def gather(args: argparse.Namespace, options: Iterable[Option], config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config`` values, overridden by the flags given in ``args``: a given flag replaces the file's
    value (a repeated flag the whole list; a NAME=COLUMN flag only its NAME). Raises ConfigError when a
    value has the wrong kind or a required option is missing from both."""
    values = dict(config)
    for option in options:
        given = getattr(args, option.key, None)
        if given is None:
            continue
        items = given if option.repeat else [given]
        value = _collect(option, [option.convert(item, option.name) for item in items])
        values[option.key] = {**values.get(option.key, {}), **value} if option.kind is PAIR else value
    missing = [option.name for option in options if option.required and option.key not in values]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (or give {'them' if len(missing) > 1 else 'it'} "
                          "in --config).")
    return values


def _collect(option: Option, items: list[Any]) -> Any:
    if option.kind is PAIR:
        return dict(items)
    return items if option.repeat else items[0]


def _resolve(value: str, base: Path) -> str:
    path = Path(value)
    return str(path if path.is_absolute() else base / path)
