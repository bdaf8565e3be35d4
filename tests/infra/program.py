"""Running the real `__main__.py` under Pulumi's mocks, with the dev stack's real config.

Used by tests/infra/conftest.py and the test modules.

Each program run is a fresh interpreter (`mock_program.py`): Pulumi's runtime and its
mocks are process-global, so nothing leaks between runs or into other tests. The config
is what the Pulumi CLI would pass: the defaults declared in Pulumi.yaml, overridden by
Pulumi.dev.yaml, overridden by the test's own values.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support import REPO_ROOT

HARNESS = Path(__file__).with_name("mock_program.py")
STACK = "dev"
RUN_TIMEOUT_S = 180


def load_yaml(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / name).read_text()) or {}


def _config_string(value: object) -> str:
    """A config value as the CLI hands it to the program."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def stack_config(overrides: dict[str, object] | None = None, stack: str = STACK) -> dict[str, str]:
    """Project defaults (Pulumi.yaml) < stack values (Pulumi.<stack>.yaml) < `overrides`."""
    project = load_yaml("Pulumi.yaml")
    name = project["name"]

    def qualified(key: str) -> str:
        return key if ":" in key else f"{name}:{key}"

    config: dict[str, str] = {}
    for key, declaration in (project.get("config") or {}).items():
        if isinstance(declaration, dict):
            if "default" in declaration:
                config[qualified(key)] = _config_string(declaration["default"])
            elif "value" in declaration:
                config[qualified(key)] = _config_string(declaration["value"])
        else:
            config[qualified(key)] = _config_string(declaration)
    for key, value in (load_yaml(f"Pulumi.{stack}.yaml").get("config") or {}).items():
        config[qualified(key)] = _config_string(value)
    for key, value in (overrides or {}).items():
        config[qualified(key)] = _config_string(value)
    return config


@dataclass
class ProgramRun:
    """What one run of the program registered, invoked and exported (or its error)."""

    resources: list[dict]
    invokes: list[dict]
    exports: dict
    error: dict | None
    config: dict[str, str]
    ecr_manifest_reads: list[str]  # the regions the manifest check asked ECR in

    def all(self, type_: str) -> list[dict]:
        return [r for r in self.resources if r["type"] == type_]

    def one(self, type_: str, name: str | None = None) -> dict:
        found = [r for r in self.all(type_) if name is None or r["name"] == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r['name'] for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> dict:
        return next(r for r in self.resources if r["urn"] == urn)

    @property
    def training_image(self) -> dict:
        return self.one("docker:index/image:Image", "model-training")

    @property
    def serving_image(self) -> dict:
        return self.one("docker:index/image:Image", "model-serving")

    def ok(self) -> ProgramRun:
        assert self.error is None, f"the program failed: {self.error}"
        return self


def run_program(
    overrides: dict[str, object] | None = None,
    *,
    block_kagglehub: bool = True,
    versions: dict[str, str] | None = None,
    images: dict[str, str] | None = None,
    deployed_tags: dict[str, str] | None = None,
    manifest: str = "docker",
    project_dir: Path = REPO_ROOT,
) -> ProgramRun:
    """Run `__main__.py` under mocks in a fresh interpreter and return what it did.

    kagglehub is blocked by default: a test run never reaches the network. `versions` and
    `images` are the Lambda versions and ECR images a previous deploy left, `deployed_tags`
    the function's tags it left, `manifest` the kind of manifest ECR holds for the pushed
    serving image (see tests/infra/mocks.py); `project_dir` is the clone to run from.
    """
    project = load_yaml("Pulumi.yaml")["name"]
    config = stack_config(overrides)
    spec_data = {
        "project": project,
        "stack": STACK,
        "config": config,
        "block_kagglehub": block_kagglehub,
        "versions": versions or {},
        "images": images or {},
        "deployed_tags": deployed_tags,
        "manifest": manifest,
    }
    with tempfile.TemporaryDirectory(prefix="infra-mock-") as work:
        spec, result = Path(work) / "spec.json", Path(work) / "result.json"
        spec.write_text(json.dumps(spec_data))
        proc = subprocess.run(
            [sys.executable, str(project_dir / HARNESS.relative_to(REPO_ROOT)), str(spec), str(result)],
            cwd=project_dir,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        assert proc.returncode == 0 and result.is_file(), (
            f"the mock harness itself failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
        data = json.loads(result.read_text())
    return ProgramRun(
        data["resources"], data["invokes"], data["exports"], data["error"], config, data["ecr_manifest_reads"]
    )
