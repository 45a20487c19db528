"""The documentation: the MkDocs site builds with ``--strict``, every ```python example of the README and of the
pages runs (in order, one process per page, from the repository root), the README stays a front door under 200
lines, every relative link resolves, and the README's commands are the ones CI and the docs use."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
RUN = "python"
NO_RUN = "{ .python .no-run }"  # a Python example that cannot run here (it needs a Spark cluster); keep these rare
NOT_PYTHON = {"bash", "yaml", "text"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"(`+).+?\1")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    info: str  # the fence's info string: "python", "bash", ...
    line: int  # line number of the block's first code line in its page (1-based)
    code: str


def split(path: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a page and its lines outside them (code lines blanked, so numbering stays)."""
    blocks, prose, info, start, code = [], [], None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if info is None and line.startswith("```"):
            info, start, code = line[3:].strip(), number + 1, []
            prose.append("")
        elif info is not None and line.strip() == "```":
            blocks.append(Block(info, start, "\n".join(code) + "\n"))
            info = None
            prose.append("")
        elif info is not None:
            code.append(line)
            prose.append("")
        else:
            prose.append(line)
    assert info is None, f"{path.name}: a code fence opened at line {start - 1} is never closed"
    return blocks, prose


def runnable(path: Path) -> list[Block]:
    return [b for b in split(path)[0] if b.info == RUN]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_site_builds_with_strict_warnings(tmp_path):
    """mkdocs.yml validates links, anchors and pages left out of the nav as warnings; --strict makes them errors."""
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    for page in DOCS.glob("*.md"):
        built = site / "index.html" if page.stem == "index" else site / page.stem / "index.html"
        assert built.is_file(), f"{rel(page)} was not built"


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)], ids=rel)
def test_the_python_examples_of_a_page_run(page, tmp_path):
    """Every ```python block of the page, in order and sharing one namespace, in a fresh process at the repository
    root. Each block is compiled under the page's own name and line numbers, so a traceback points into the page."""
    blocks = [{"line": b.line, "code": b.code} for b in runnable(page)]
    (tmp_path / "blocks.json").write_text(json.dumps({"page": rel(page), "blocks": blocks}))
    runner = (
        "import json, sys\n"
        "spec = json.load(open(sys.argv[1]))\n"
        "namespace = {'__name__': '__main__'}\n"
        "for block in spec['blocks']:\n"
        "    source = '\\n' * (block['line'] - 1) + block['code']\n"
        "    exec(compile(source, spec['page'], 'exec'), namespace)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", runner, str(tmp_path / "blocks.json")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{rel(page)}: an example failed\n{proc.stderr[-6000:]}"


def test_every_check_is_shown_by_a_runnable_example():
    """The examples stay real: the README has one per check, each check page and the engine, report and getting
    started pages have some, and the blocks that are not run are few and fenced on purpose."""
    readme = runnable(README)
    assert len(readme) == 4
    for call in ("audit_leakage(", "drift(", "compare_logs(", "performance("):
        assert sum(call in b.code for b in readme) == 1, call
    for name in ("getting-started", "leakage", "drift", "shadow", "performance", "engines", "reports"):
        assert runnable(DOCS / f"{name}.md"), f"docs/{name}.md has no runnable example"
    infos = [b.info for page in PAGES for b in split(page)[0]]
    unknown = sorted({i for i in infos if i not in {RUN, NO_RUN, *NOT_PYTHON}})
    assert not unknown, f"fences must be one of python, {NO_RUN!r}, bash, yaml, text; found {unknown}"
    assert 1 <= infos.count(NO_RUN) <= 2
    for page in PAGES:  # not run, but still Python
        for block in (b for b in split(page)[0] if b.info == NO_RUN):
            compile("\n" * (block.line - 1) + block.code, rel(page), "exec")
    assert infos.count(RUN) >= 15


def test_the_readme_is_a_front_door_under_200_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"README.md has {len(lines)} lines; move detail into docs/"
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[0] == "## Two commands"
    assert "<!-- binder-badge -->" in lines  # binder/badge.py --write puts the badge on the line after it


def test_the_readme_commands_are_those_ci_and_the_docs_run():
    """.ci/run runs the README's second command verbatim; getting started splits the first one into its jobs."""
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    ci = [line for line in script if line and not line.startswith(("#", "set ", "cd "))]
    assert len(ci) == 1
    readme = split(README)[0]
    two = next(b for b in readme if b.info == "bash")
    commands = [line for line in two.code.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    setup_and_run, test = commands
    assert test == ci[0]
    assert test.endswith('.venv/bin/pip install -q -c constraints.txt -e ".[dev]" && .venv/bin/python -m pytest')
    assert setup_and_run.startswith("python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e . && ")
    jobs = [line for b in split(DOCS / "getting-started.md")[0] if b.info == "bash"
            for line in b.code.splitlines() if line.startswith(".venv/bin/workbench ")]
    assert [job.split()[1] for job in jobs] == ["leakage", "drift", "shadow", "performance"]
    for job in jobs:
        assert job in setup_and_run, job


def headings(path: Path) -> set[str]:
    return {slugify(m.group(1), "-") for line in split(path)[1] if (m := HEADING.match(line))}


@pytest.mark.parametrize("page", [*PAGES, ROOT / "BENCHMARKS.md"], ids=rel)
def test_every_relative_link_points_to_an_existing_file(page):
    """Links outside code: a relative target must exist; an anchor into a markdown file must name a heading."""
    checked = 0
    for number, line in enumerate(split(page)[1], start=1):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            name, _, anchor = target.partition("#")
            file = (page.parent / name).resolve() if name else page
            assert file.exists(), f"{rel(page)}:{number}: {target} does not exist"
            if anchor and file.suffix == ".md":
                assert anchor in headings(file), f"{rel(page)}:{number}: no heading #{anchor} in {rel(file)}"
            checked += 1
    if page in (README, DOCS / "index.md"):
        assert checked >= 10
