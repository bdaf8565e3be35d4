"""The platform knows no model: no name of the nearest-store model in serving/, and the
import contracts of .importlinter hold (lint-imports, also run by .ci/run)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support import REPO_ROOT

STORE_WORDS = re.compile(r"\b(stores?|latitudes?|longitudes?|chipotle\w*|nearest[-_ ]store\w*)\b", re.I)


def test_the_platform_names_nothing_of_the_nearest_store_model():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in sorted((REPO_ROOT / "serving").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if STORE_WORDS.search(line)
    ]
    assert found == []


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint_imports)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
