"""The project stands alone: every relative link in README.md and docs/*.md resolves to a file
inside the repository, and nothing points at documents outside it."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: `[text](target)` and `![alt](target)`, the target up to a space or the closing parenthesis.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.IGNORECASE)
#: The old contract outside the repository (written in two parts so this file does not match).
_OUTSIDE = ("../" + "shared", "shared/" + "API.md")
_SKIP_DIRS = {".git", ".venv", ".tools", "node_modules", "build", "cdk.out", "__pycache__"}
_TEXT_SUFFIXES = {".md", ".py", ".toml", ".txt", ".yml", ".yaml", ".cfg", ".json", ""}


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of `document` that leaves `root` or names no existing file."""
    broken = []
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if _EXTERNAL.match(target):
            continue
        path = target.split("#", 1)[0]
        resolved = (root / path.lstrip("/")) if path.startswith("/") else document.parent / path
        resolved = resolved.resolve()
        if not resolved.is_relative_to(root.resolve()):
            broken.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
    return broken


def test_every_relative_link_in_the_readme_and_docs_resolves_inside_the_repository() -> None:
    broken = {
        str(doc.relative_to(ROOT)): found for doc in documents() if (found := broken_links(doc))
    }
    assert broken == {}


def test_no_file_in_the_repository_points_at_the_old_shared_contract() -> None:
    mentions = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in files:
            path = Path(folder, name)
            if path.suffix not in _TEXT_SUFFIXES or name == "uv.lock":
                continue
            text = path.read_text(encoding="utf-8", errors="ignore")
            mentions += [f"{path.relative_to(ROOT)}: {o}" for o in _OUTSIDE if o in text]
    assert mentions == []


def test_a_link_out_of_the_repository_or_to_a_missing_file_is_caught(tmp_path: Path) -> None:
    outside = "../" + "shared" + "/API.md"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("x")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[ok](docs/here.md#top) [web](https://example.com) [anchor](#x) ![img](docs/here.md)\n"
        f"[gone](docs/missing.md) [out]({outside})\n"
    )
    assert broken_links(readme, tmp_path) == [
        "docs/missing.md (no such file)",
        f"{outside} (outside the repository)",
    ]
