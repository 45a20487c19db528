"""A check command: its table of options, how its config file is read, and the function it runs.

:meth:`Command.execute` is the same for every check: read ``--config`` (if given), merge the flags over
it (:func:`~workbench.cli.options.gather`), refuse bad output paths before any work, then call ``run``
with the API's keyword arguments and the output options.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.cli.config import read_config
from workbench.cli.finish import Outputs, guard_outputs
from workbench.cli.options import CONFIG, OUTPUT, OUTPUTS, PATH, Option, add_options, config_values, gather
from workbench.progress import quiet

ReadConfig = Callable[[Mapping[str, Any], Path, str], dict[str, Any]]


def _no_inputs(values: Mapping[str, Any]) -> list[Any]:
    return []


def _no_check(values: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class Command:
    """One check on the command line. ``run(values, outputs)`` returns the exit status; ``values`` are the
    API's keyword arguments (from the file and the flags). ``read_config`` turns a parsed config file into
    values (default: :func:`~workbench.cli.options.config_values` over ``options``). ``inputs`` names data
    the options do not (e.g. the leakage audit's sources) so no output overwrites it; ``check`` refuses
    an inconsistent combination before any work."""

    name: str
    help: str
    description: str
    options: tuple[Option, ...]
    run: Callable[[dict[str, Any], Outputs], int]
    outputs: tuple[Option, ...] = OUTPUTS
    read_config: ReadConfig | None = None
    inputs: Callable[[Mapping[str, Any]], list[Any]] = field(default=_no_inputs)
    check: Callable[[Mapping[str, Any]], None] = field(default=_no_check)

    def add_parser(self, sub: Any) -> argparse.ArgumentParser:
        """This command's parser, built from its table."""
        parser = sub.add_parser(self.name, help=self.help, description=self.description)
        add_options(parser, (CONFIG, *self.options, *self.outputs))
        return parser

    def values(self, args: argparse.Namespace) -> dict[str, Any]:
        """The API keyword arguments: the config file's, overridden by the flags given."""
        config: dict[str, Any] = {}
        if args.config:
            path = Path(args.config)
            raw = read_config(path, example=f"{self.name}.yaml")
            if self.read_config is not None:
                config = self.read_config(raw, path.parent, str(path))
            else:
                config = config_values(raw, self.options, base=path.parent, where=str(path))
        return gather(args, self.options, config)

    def execute(self, args: argparse.Namespace) -> int:
        """Run the command on parsed arguments; returns the exit status (WorkbenchError propagates)."""
        values = self.values(args)
        self.check(values)
        outputs = Outputs.from_args(args)
        inputs = [args.config, *(values.get(o.key) for o in self.options if o.kind is PATH), *self.inputs(values)]
        written = {o.name: values.get(o.key) for o in self.options if o.kind is OUTPUT}
        guard_outputs(outputs, inputs, written)
        with quiet(outputs.quiet):  # no progress line with --quiet
            return self.run(values, outputs)
