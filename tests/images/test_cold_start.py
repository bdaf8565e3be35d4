"""The serving image's start-up levers, checked in the image: the files the runtime never
reads are gone, and every module has its bytecode (Lambda's file system is read-only).
That the answers stay right with the levers in place is test_images.py's brute-force
check of every case through the RIE, in this same image."""

from __future__ import annotations

import json

import pytest

from infra.local.images import run_python

pytestmark = pytest.mark.docker

SITE_PACKAGES = "import sysconfig; print(sysconfig.get_path('purelib'))"


def in_image(image: str, code: str) -> dict:
    proc = run_python(image, code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_image_has_no_test_suites_headers_or_stubs_and_bytecode_for_every_module(serving_image):
    site = run_python(serving_image, SITE_PACKAGES).stdout.strip()
    out = in_image(
        serving_image,
        "import json, os, pathlib, importlib.util\n"
        f"site, task = pathlib.Path({site!r}), pathlib.Path(os.environ['LAMBDA_TASK_ROOT'])\n"
        "suffixes = ('.pyi', '.pyx', '.pxd', '.pxi', '.h', '.hpp', '.c', '.cpp', '.f', '.f90', '.tp')\n"
        "unread = [str(p) for p in site.rglob('*')\n"
        "          if (p.is_dir() and p.name in ('tests', 'test')) or p.suffix in suffixes]\n"
        "sources = [p for root in (site, task) for p in root.rglob('*.py')]\n"
        "stale = [str(p) for p in sources if not os.path.exists(importlib.util.cache_from_source(p))]\n"
        "print(json.dumps({'unread': unread[:20], 'sources': len(sources), 'stale': stale[:20]}))",
    )
    assert out["unread"] == []
    assert out["sources"] > 1000 and out["stale"] == []
