"""One tag, one digest: each image's tag covers everything its build receives.

pulumi-docker rebuilds and pushes when the build context it hashes changes (every file the
.dockerignore admits, with its mode), or the Dockerfile, args, platform or target. A
rebuild under the same tag could push new bytes under an old name (a retrained model's
`created_at` alone differs), so the tag must change whenever any of those changes, and only
then. The admitted files are decided here by the .dockerignore rules themselves (Docker's
order: the last matching pattern wins), not by the build spec's own reading of them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from infra import build_spec
from tests.support import REPO_ROOT

DATA = "data/chipotle_stores.csv"
DOCKERFILES = (build_spec.TRAINING_DOCKERFILE, build_spec.SERVING_STAGE)
# Beside the project's own files, ones a context must ignore or admit.
EXTRA_FILES = {
    "data/another-chain.csv": "state,location,address,latitude,longitude\n",
    "data/notes/readme.txt": "not the configured CSV, but in the build context\n",
    "chipotle_model/__pycache__/api.cpython-313.pyc": "bytecode",
    "chipotle_model/stray.pyo": "bytecode",
    "lambda_image/notes.md": "not admitted: only handler.py is",
    "tests/test_something.py": "x = 1\n",
    "docs/extra.md": "# docs\n",
}


def _regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def admitted_by_dockerignore(project: Path, relative: str) -> bool:
    """Docker's rule: a pattern matches a path or any directory above it; the last match wins."""
    rules = []
    for line in (project / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((negated, _regex(line.lstrip("!").strip("/"))))
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    admitted = True
    for negated, pattern in rules:
        if any(pattern.match(prefix) for prefix in prefixes):
            admitted = negated
    return admitted


@pytest.fixture(scope="module")
def project(tmp_path_factory, repo_data_csv) -> Path:
    """A project tree: what the images take, what they do not, and the files above."""
    root = tmp_path_factory.mktemp("tags")
    for name in [".dockerignore", "README.md", "__main__.py", *DOCKERFILES, "lambda_image/handler.py"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, root / name)
    shutil.copytree(
        REPO_ROOT / "chipotle_model", root / "chipotle_model", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO_ROOT / "requirements", root / "requirements")
    (root / "data").mkdir()
    shutil.copy2(repo_data_csv, root / DATA)
    for name, text in EXTRA_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def tags(project: Path, **options) -> tuple[str, str, str]:
    build = build_spec.model_build(
        data_path=DATA, base_image="lambda-base:test", project_dir=project, **options
    )
    return build.model_version, build.training_tag, build.serving_tag


def every_file(project: Path) -> list[str]:
    files = (p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    return sorted(f for f in files if not f.startswith("build/"))  # the spec's generated Dockerfile


def test_the_tags_are_the_model_version_and_a_hash_of_the_build(project):
    model_version, training, serving = tags(project)
    assert re.fullmatch(r"m-[0-9a-f]{12}-[0-9a-f]{8}", training) and training.startswith(model_version)
    assert re.fullmatch(r"m-[0-9a-f]{12}-[0-9a-f]{8}", serving) and training != serving
    assert tags(project) == (model_version, training, serving), "the same inputs, the same tags"


def test_a_tag_changes_when_any_admitted_file_changes_and_not_otherwise(project):
    before = tags(project)
    admitted = [f for f in every_file(project) if admitted_by_dockerignore(project, f)]
    assert DATA in admitted and "data/notes/readme.txt" in admitted and "lambda_image/handler.py" in admitted
    assert len(admitted) > 20
    for name in every_file(project):
        path = project / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        try:
            after = tags(project)
        finally:
            path.write_bytes(original)
        if name in DOCKERFILES:
            changed = (name == build_spec.TRAINING_DOCKERFILE, True)
        else:
            changed = (admitted_by_dockerignore(project, name),) * 2
        assert (after[1] != before[1], after[2] != before[2]) == changed, f"{name}: training, serving tag"
    assert tags(project) == before


def test_a_new_file_or_a_changed_mode_in_the_context_is_a_new_tag(project):
    model_version, training, serving = tags(project)
    extra = project / "data" / "yet-another.csv"
    extra.write_text("state,location,address,latitude,longitude\n")
    try:
        added = tags(project)
    finally:
        extra.unlink()
    assert added[0] == model_version, "the model's inputs did not change: the model version stays"
    assert added[1] != training and added[2] != serving
    handler = project / "lambda_image" / "handler.py"
    mode = handler.stat().st_mode
    handler.chmod(mode | 0o111)  # COPY keeps it: other bytes in the image
    try:
        assert tags(project)[1:] != (training, serving)
    finally:
        handler.chmod(mode)
    ignored = project / "chipotle_model" / "__pycache__" / "new.cpython-313.pyc"
    ignored.write_text("x")
    try:
        assert tags(project) == (model_version, training, serving)
    finally:
        ignored.unlink()


@pytest.mark.parametrize("option", [{"architecture": "arm64"}, {"snapstart": True}, {"tracing": True}])
def test_a_changed_build_arg_or_platform_is_a_new_tag_for_both_images(project, option):
    _, training, serving = tags(project)
    _, other_training, other_serving = tags(project, **option)
    assert other_training != training and other_serving != serving
