"""The ``workbench`` command line.

Grammar: ``workbench CHECK [--config FILE] [options] [--out F.json] [--report F.html] [--fail-on S] [--quiet]``
with CHECK one of ``leakage``, ``drift``, ``skew``, ``shadow``, ``performance`` (each the check's name in its
results); ``workbench report run|list|schedule``; ``workbench schema findings``; ``workbench --version``.
Each check's options are one table (:mod:`workbench.cli.checks`): a flag fills the API argument of the same
name (``--label-time`` -> ``label_time``), which is also its key in a ``--config`` YAML/JSON file; flags
given on the command line override the file; list options repeat (``--by a --by b``).

Exit status of ``leakage``, ``drift``, ``skew`` and ``performance``: 0 no finding at or above
``--fail-on``; 1 at least one, or a ``check_skipped`` finding (a check asked for could not run; the verdict
says INCOMPLETE); 2 usage or input error. ``shadow``: 0 promote, 1 rollback, 3 hold, 2 usage or input error.
``report run``: 4 the report failed, 5 skipped (see :mod:`workbench.cli.report`).
"""

from __future__ import annotations

from workbench.cli.app import build_parser, main
from workbench.cli.finish import EXIT_FINDINGS, EXIT_HOLD, EXIT_OK, EXIT_SKIPPED, EXIT_USAGE

__all__ = ["EXIT_FINDINGS", "EXIT_HOLD", "EXIT_OK", "EXIT_SKIPPED", "EXIT_USAGE", "build_parser", "main"]
