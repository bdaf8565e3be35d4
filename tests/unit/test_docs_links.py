"""Every link between README.md and docs/*.md leads somewhere: the file exists, and the
heading an anchor names is there (GitHub's anchors: lower case, punctuation dropped,
spaces to hyphens)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CODE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


def anchors(doc: Path) -> set[str]:
    text = _CODE.sub("", doc.read_text())
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def links() -> list[tuple[Path, str]]:
    return [(doc, target) for doc in DOCS for target in _LINK.findall(_CODE.sub("", doc.read_text()))]


@pytest.mark.parametrize(
    ("doc", "target"),
    [(d, t) for d, t in links() if not t.startswith(("http://", "https://", "mailto:"))],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_every_link_between_the_docs_resolves(doc, target):
    path, _, anchor = target.partition("#")
    file = (doc.parent / path).resolve() if path else doc
    assert file.exists(), f"{doc.name}: {target}: no {file}"
    if anchor and file.suffix == ".md":
        assert anchor in anchors(file), f"{doc.name}: {target}: no such heading in {file.name}"
