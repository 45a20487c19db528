"""Print (or write into README.md) the "Launch on Binder" badge for this repository's public
address, opening the tour in JupyterLab. The address comes from ``--repo URL`` or the ``origin``
remote; GitHub and GitLab addresses get their short mybinder form, any other git URL the generic one.

    python binder/badge.py                        # print the badge for `git remote get-url origin`
    python binder/badge.py --repo https://github.com/OWNER/workbench --write
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/tour.ipynb"
MARK = "<!-- binder-badge -->"


def binder_url(repo: str, ref: str = "main", notebook: str = NOTEBOOK) -> str:
    """mybinder.org launch URL for ``repo`` (https or ssh git address) at ``ref``, opening ``notebook``."""
    repo = repo.strip().removesuffix("/").removesuffix(".git")
    ssh = re.fullmatch(r"git@([^:]+):(.+)", repo)
    if ssh:
        repo = f"https://{ssh[1]}/{ssh[2]}"
    match = re.fullmatch(r"https?://(github\.com|gitlab\.com)/([^/]+/[^/]+(?:/[^/]+)*)", repo)
    target = f"urlpath={quote(f'lab/tree/{notebook}', safe='/')}"
    if match and match[1] == "github.com":
        return f"https://mybinder.org/v2/gh/{match[2]}/{quote(ref, safe='')}?{target}"
    if match:
        return f"https://mybinder.org/v2/gl/{quote(match[2], safe='')}/{quote(ref, safe='')}?{target}"
    if not re.match(r"https?://", repo):
        raise ValueError(f"{repo!r} is not a public git address (https://... or git@host:owner/name).")
    return f"https://mybinder.org/v2/git/{quote(repo + '.git', safe='')}/{quote(ref, safe='')}?{target}"


def badge(repo: str, ref: str = "main") -> str:
    """The README badge (markdown) for ``repo``."""
    return f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]({binder_url(repo, ref)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", help="public git address (default: the origin remote)")
    parser.add_argument("--ref", default="main", help="branch, tag or commit (default main)")
    parser.add_argument("--write", action="store_true", help=f"replace the line after {MARK} in README.md")
    args = parser.parse_args(argv)
    repo = args.repo or subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True,
                                       text=True).stdout.strip()
    if not repo:
        print("no --repo and no origin remote: pass the repository's public address.", file=sys.stderr)
        return 2
    line = badge(repo, args.ref)
    if args.write:
        readme = ROOT / "README.md"
        lines = readme.read_text().splitlines()
        at = lines.index(MARK)
        lines[at + 1:at + 2] = [line]
        readme.write_text("\n".join(lines) + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
