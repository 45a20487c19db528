"""The documentation: the MkDocs site builds with ``--strict``, every ```python example of the README and of the
pages runs (in order, one process per page, from the repository root), the README stays a front door under 200
lines, every relative link resolves, the README's commands are the ones CI and the docs use, and every
``workbench`` command line and flag the pages show is one the parser accepts (the CLI reference lists each
command's flags under that command)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

from workbench.cli import build_parser
from workbench.cli.app import RETIRED_COMMANDS, RETIRED_FLAGS
from workbench.cli.checks import CHECKS

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
    for call in ("check_leakage(", "check_drift(", "check_shadow(", "check_performance("):
        assert sum(call in b.code for b in readme) == 1, call
    for name in ("getting-started", "leakage", "drift", "shadow", "performance", "service", "engines", "reports"):
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


# -- the CLI reference and every command line of the pages against the real parser ------------------------------
CLI = DOCS / "cli.md"
RETIRED_SECTION = "Changed from earlier versions"  # the one place the commands and flags of earlier versions appear
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHARED = {"--help", "--config", "--out", "--report", "--fail-on", "--quiet"}  # one table for every check
SEPARATORS = {"&&", "||", ";", "|", "{", "}"}


def parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every parser of the command line by its command words: ``()`` the top level, ``("report", "run")``, ..."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(words: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
        found[words] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk((*words, name), sub)

    walk((), build_parser())
    return found


def flags(words: tuple[str, ...]) -> set[str]:
    """The long flags of the command ``words`` and of its sub-commands."""
    return {option for path, parser in parsers().items() if path[:len(words)] == words
            for action in parser._actions for option in action.option_strings if option.startswith("--")}


def leaves() -> set[tuple[str, ...]]:
    """The commands that run something (no sub-commands of their own)."""
    paths = set(parsers())
    return {p for p in paths if p and not any(q[:len(p)] == p and q != p for q in paths)}


def command_of(words: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The command at the start of ``words`` (what follows ``workbench``), and the words after it."""
    paths, path = set(parsers()), ()
    while words and (*path, words[0]) in paths:
        path, words = (*path, words[0]), words[1:]
    return path, words


@dataclass(frozen=True)
class Section:
    heading: str  # "" before the first heading
    start: int  # line number of the heading (1-based)
    lines: list[str]
    prose: list[str]  # the same lines with code blanked


def sections(page: Path) -> list[Section]:
    """The page cut at its headings."""
    lines, prose = page.read_text(encoding="utf-8").splitlines(), split(page)[1]
    found = [Section("", 1, [], [])]
    for number, (line, text) in enumerate(zip(lines, prose, strict=True), start=1):
        if m := HEADING.match(text):
            found.append(Section(m.group(1), number, [], []))
        found[-1].lines.append(line)
        found[-1].prose.append(text)
    return found


def documented_command(heading: str) -> tuple[str, ...] | None:
    """The command a heading such as ``workbench report run`` documents, else None."""
    return tuple(heading.split()[1:]) if heading.startswith("workbench ") else None


def test_every_flag_of_the_cli_reference_exists_where_it_is_documented():
    """A flag under a command's heading is one of that command's flags; elsewhere, one of some command's; the
    flags of earlier versions only in the section that says what replaced them, which names every one."""
    known, checked = flags(()), 0
    for section in sections(CLI):
        words = documented_command(section.heading)
        retired = set(RETIRED_FLAGS) if section.heading == RETIRED_SECTION else set()
        allowed = flags(words) if words else known | retired
        for number, line in enumerate(section.lines, start=section.start):
            for flag in FLAG.findall(line):
                assert flag in allowed, f"docs/cli.md:{number}: {flag} is not a flag of " \
                                        f"{'workbench ' + ' '.join(words) if words else 'any command'}"
                checked += 1
    assert checked >= 150
    retired = "\n".join(next(s.lines for s in sections(CLI) if s.heading == RETIRED_SECTION))
    for name in RETIRED_COMMANDS:
        assert f"`workbench {name}" in retired, name
    for flag in RETIRED_FLAGS:
        assert f"`{flag}" in retired, flag


def test_the_cli_reference_documents_every_command_and_each_of_its_flags():
    """One section per command, and each command's section names all of its flags (a check's output flags and
    --config are in the shared table)."""
    documented = {words: s.lines for s in sections(CLI) if (words := documented_command(s.heading))}
    assert leaves() <= set(documented), sorted(leaves() - set(documented))
    checks = {command.name for command in CHECKS}
    for words in leaves():
        text = "\n".join(documented[words])
        missing = sorted(flags(words) - (SHARED if words[0] in checks else {"--help"}) - set(FLAG.findall(text)))
        assert not missing, f"docs/cli.md: workbench {' '.join(words)} does not document {missing}"


def _refused(argv: list[str]) -> str | None:
    """argparse's complaint about ``argv`` (what follows ``workbench``), or None when it parses."""
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit:
        return None if exit.code == 0 else f"exit status {exit.code}"
    return None


def shell_commands(page: Path) -> list[list[str]]:
    """The ``workbench`` command lines of the page's bash blocks (each ``&&`` / ``;`` piece of a line), as the
    words after ``workbench`` (or ``.venv/bin/workbench``)."""
    found = []
    for block in (b for b in split(page)[0] if b.info == "bash"):
        for line in block.code.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            piece: list[str] = []
            for word in [*lexer, ";"]:
                if word not in SEPARATORS:
                    piece.append(word)
                    continue
                if piece and piece[0].split("/")[-1] == "workbench":
                    found.append(piece[1:])
                piece = []
    return found


@pytest.mark.parametrize("page", [p for p in PAGES if shell_commands(p)], ids=rel)
def test_every_command_line_of_a_page_parses(page, capsys):
    """The commands of the bash blocks parse as they are (a schedule's run options as ``report run``'s)."""
    for argv in shell_commands(page):
        run: list[str] = []
        if "--" in argv:
            argv, run = argv[:argv.index("--")], argv[argv.index("--") + 1:]
        for words in (argv, ["report", "run", *run] if run else None):
            if words is not None:
                refused = _refused(words)
                assert refused is None, f"{rel(page)}: workbench {shlex.join(words)}: {refused}\n" \
                                        f"{capsys.readouterr().err}"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_command_in_the_prose_is_a_command_with_those_flags(page):
    """`workbench COMMAND ...` in the text names a command of this version, with its flags (placeholders in
    capitals are fine: `workbench COMMAND --help`); only the CLI reference's list of changes names older ones."""
    for section in sections(page):
        if page == CLI and section.heading == RETIRED_SECTION:
            continue
        for paragraph in re.split(r"\n\s*\n", "\n".join(section.prose)):
            for span in re.finditer(r"(`+)(.+?)\1", paragraph.replace("\n", " ")):
                words = span.group(2).split()
                if words[0] != "workbench" or len(words) < 2:
                    continue
                run = words[words.index("--") + 1:] if "--" in words else []
                path, rest = command_of(words[:len(words) - len(run) - (1 if run else 0)][1:])
                if rest and not path and not rest[0].startswith("-"):
                    assert rest[0].isupper(), f"{rel(page)}: {span.group(0)}: no command {rest[0]!r}"
                for flag in FLAG.findall(" ".join(rest)):
                    assert flag in flags(path), f"{rel(page)}: {span.group(0)}: {flag} is not a flag of " \
                                                f"workbench {' '.join(path)}"
                for flag in FLAG.findall(" ".join(run)):
                    assert flag in flags(("report", "run")), f"{rel(page)}: {span.group(0)}: {flag}"


def test_the_config_examples_of_the_cli_reference_are_read_by_their_command(tmp_path):
    """Each YAML example of the CLI reference is read without complaint by the command of the next example
    (`workbench CHECK --config ...`): its keys are that command's, its values of the right kind."""
    checks = {command.name: command for command in CHECKS}
    blocks, seen = split(CLI)[0], set()
    for i, block in enumerate(blocks):
        if block.info != "yaml":
            continue
        after = next(b for b in blocks[i + 1:] if b.info == "bash")
        name = after.code.split()[1]
        assert f"{name} --config" in after.code, f"docs/cli.md:{block.line}: no `workbench CHECK --config` follows"
        config = tmp_path / f"{name}.yaml"
        config.write_text(block.code)
        values = checks[name].values(build_parser().parse_args([name, "--config", str(config)]))
        assert values, name
        seen.add(name)
    assert seen == set(checks)
