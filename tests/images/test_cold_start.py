"""The serving image's start-up levers, checked in the image: the deferred modules stay
unloaded through INIT and every request, the files the runtime never reads are gone, and
every module has its bytecode (Lambda's file system is read-only). That the answers stay
right with the levers in place is test_images.py's brute-force check of every case
through the RIE, in this same image."""

from __future__ import annotations

import json

import pytest
from chipotle_model.lean_imports import NOT_ON_THE_QUERY_PATH

from tests.support.cases import all_events
from tests.support.docker import run_python
from tests.support.events import load_event

pytestmark = pytest.mark.docker

SITE_PACKAGES = "import sysconfig; print(sysconfig.get_path('purelib'))"


def in_image(image: str, code: str) -> dict:
    proc = run_python(image, code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def extension_modules(image: str, site: str) -> dict[str, list[str]]:
    """Deferred name -> the compiled extension modules (.so) in its package directory."""
    found = {}
    for name in NOT_ON_THE_QUERY_PATH:
        directory = f"{site}/{name.replace('.', '/')}"
        code = f"import glob, json; print(json.dumps(glob.glob({directory + '/**/*.so'!r}, recursive=True)))"
        found[name] = json.loads(run_python(image, code).stdout)
    return found


def test_the_runtime_never_maps_a_deferred_extension_module(lambda_container, serving_image):
    """After INIT and every API case through the RIE, the runtime process has mapped no
    compiled module of any deferred package (it maps KDTree's, so the check can see one)."""
    for event in all_events().values():
        lambda_container.invoke(event)
    site = run_python(serving_image, SITE_PACKAGES).stdout.strip()
    extensions = extension_modules(serving_image, site)
    assert extensions["scipy.stats"], "scipy.stats has compiled modules to look for"
    mapped = lambda_container.mapped_files()
    assert any("/sklearn/neighbors/_kd_tree" in path for path in mapped), sorted(mapped)[:20]
    loaded = {name: sorted(set(files) & mapped) for name, files in extensions.items()}
    assert all(not files for files in loaded.values()), loaded


def test_the_image_init_runs_no_deferred_module(serving_image):
    """The handler's INIT in the image (importing it, as awslambdaric does) and a request of
    each kind leave every deferred module imported only as its stand-in."""
    events = {name: load_event(name) for name in ("get_nearest_k5", "post_batch", "get_health")}
    out = in_image(
        serving_image,
        "import json\n"
        "import handler\n"
        "from chipotle_model import lean_imports\n"
        "from serving.api import LocalContext\n"
        f"events = json.loads({json.dumps(events)!r})\n"
        "statuses = [handler.handler(e, LocalContext())['statusCode'] for e in events.values()]\n"
        "state = {'pending': lean_imports.pending(), 'ran': lean_imports.ran()}\n"
        "print(json.dumps({**state, 'statuses': statuses}))",
    )
    assert out["statuses"] == [200, 200, 200]
    assert out["ran"] == []
    assert sorted(out["pending"]) == sorted(NOT_ON_THE_QUERY_PATH)


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
