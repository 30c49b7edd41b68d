"""The README's Binder badge points at this repository's GitHub home, derived from the git
remote (`origin`), so no placeholder owner is ever committed.

    python binder/badge.py                # from `git remote get-url origin`
    python binder/badge.py owner/claude_nb

`notebooks/build.py` runs it too. Without a GitHub remote the README keeps a one-line note
saying how to get the badge instead of a link to nowhere.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
NOTEBOOK = "notebooks/01-quickstart.ipynb"
START, END = "<!-- binder-badge -->", "<!-- /binder-badge -->"
NO_REMOTE = ("(No GitHub remote yet, so no Binder badge: `python binder/badge.py OWNER/NAME`, "
             "or `notebooks/build.py` once `origin` points at GitHub, writes it here.)")

_GITHUB = re.compile(r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
                     r"([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def github_repo(remote: str) -> str | None:
    """`owner/name` from a GitHub remote URL (https or ssh), else None."""
    match = _GITHUB.match(remote.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def origin_repo(root: Path = REPO_ROOT) -> str | None:
    try:
        url = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return github_repo(url)


def badge(repo: str | None) -> str:
    if repo is None:
        return NO_REMOTE
    return (f"[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/"
            f"{repo}/HEAD?urlpath=lab/tree/{NOTEBOOK})")


def update_readme(repo: str | None, readme: Path = README) -> bool:
    """Write the badge between the markers; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(START) + len(START), text.index(END)
    new = f"{text[:start]}\n{badge(repo)}\n{text[end:]}"
    if new == text:
        return False
    readme.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    repo = argv[0] if argv else origin_repo()
    if argv and not re.fullmatch(r"[\w.-]+/[\w.-]+", repo or ""):
        print(f"not an owner/name: {argv[0]!r}", file=sys.stderr)
        return 2
    changed = update_readme(repo)
    print(f"Binder badge: {repo or 'no GitHub remote (note kept)'}"
          f"{' (README updated)' if changed else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
