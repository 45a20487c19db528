"""``Explorer``: what every notebook explorer shares.

An explorer holds one :class:`~workbench.findings.CheckResult` and renders its tables: the
result's findings table (:func:`~workbench.findings.html.result_html`) at the top, then the
sections of its subclass, in one ``ipywidgets.VBox`` that a notebook displays. Each subclass
declares the checks it shows (``checks``) and the tables it reads (``needs``);
:meth:`Explorer.from_result` refuses any other result with a :class:`~workbench.errors.ConfigError`
that names the explorer to use instead. An explorer never computes a statistic: every number it
shows is a cell of the result's tables or findings.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from workbench.errors import ConfigError
from workbench.findings.html import result_html
from workbench.findings.model import CheckResult

# the explorer that shows each check's results (``workbench.widgets.explore`` opens the same ones)
EXPLORER_OF: dict[str, str] = {
    "leakage": "LeakageExplorer",
    "drift": "DriftExplorer",
    "shadow": "ShadowExplorer",
    "performance": "SubgroupExplorer",
    "calibration": "CalibrationExplorer",
    "service": "ServiceExplorer",
}


class Explorer:
    """Interactive view of one result (needs ipywidgets, anywidget and plotly).

    Subclasses set ``checks`` (the values of ``result.check`` they show) and ``needs`` (the
    tables they read), and build their widgets in :meth:`_sections`.
    """

    checks: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, result: CheckResult) -> None:
        reason = self.refusal(result)
        if reason is not None:
            raise ConfigError(reason)
        import ipywidgets as w

        self.result = result
        self.widget = w.VBox([w.HTML(self._header()), *self._sections()])

    @classmethod
    def from_result(cls, result: CheckResult, **options: Any) -> Self:
        """The explorer of ``result`` (``options`` go to the subclass, e.g. ``metric=`` of
        :class:`SubgroupExplorer`). Raises :class:`ConfigError` when this explorer does not show
        results of ``result.check``, or the result lacks a table it reads."""
        return cls(result, **options)

    @classmethod
    def refusal(cls, result: CheckResult) -> str | None:
        """Why this explorer cannot show ``result``, naming the explorer that can; ``None`` when it can."""
        if result.check not in cls.checks:
            shown = " and ".join(repr(c) for c in cls.checks)
            return f"{cls.__name__} shows {shown} results, got a {result.check!r} result: {_use_instead(result)}"
        missing = [t for t in cls.needs if t not in result.tables]
        if missing:
            return (f"{cls.__name__} reads the table(s) {missing} of the result; this {result.check!r} result has "
                    f"{sorted(result.tables) or 'no tables'}. {cls._missing_hint(result)}").rstrip()
        return None

    @classmethod
    def _missing_hint(cls, result: CheckResult) -> str:
        """How to get a result with the tables this explorer reads (a subclass may say more)."""
        return "Pass the result the check returned (a result read back from findings JSON has no tables)."

    def _header(self) -> str:
        """HTML above the sections: the result's findings table, inputs and rule."""
        return result_html(self.result)

    def _sections(self) -> list[Any]:
        """The widgets below the header, top to bottom (subclasses build them here)."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's bundle, plus a ``text/html`` fallback that a page without a live kernel shows
        (an exported or reopened notebook): the findings table and a note that the charts need the kernel."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle = {**bundle, "text/html": self._static_html()}
        return bundle

    def _static_html(self) -> str:
        """What an export shows instead of the interactive widget."""
        return (f"<div class='wb-explorer-static'><p class='wb-note' style='color:#64748b'><b>{type(self).__name__}"
                "</b>: its interactive charts need a live Jupyter kernel; run this cell to explore them. Shown here: "
                f"the result's findings.</p>{self._header()}</div>")


def _use_instead(result: CheckResult) -> str:
    """Which explorer to use for ``result``, or that none shows its check."""
    name = EXPLORER_OF.get(result.check)
    if name is None:
        return (f"no explorer shows {result.check!r} results (explorers show {', '.join(sorted(EXPLORER_OF))}); "
                "display the result itself for its findings table.")
    return f"open it with {name}.from_result(result), or workbench.widgets.explore(result) for any result."


__all__ = ["EXPLORER_OF", "Explorer"]
