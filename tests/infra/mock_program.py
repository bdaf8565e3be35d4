"""Run the real `__main__.py` under Pulumi's public mocks API and write what it did as JSON.

Run in a fresh interpreter per program run (Pulumi's runtime is process-global state), so
each run proves what only a whole run can: the stack's config read as the CLI passes it (the
PULUMI_CONFIG environment variable), failures before any resource, the resource graph and
the exports:

    python tests/infra/mock_program.py SPEC.json RESULT.json

SPEC: {"project", "stack", "config": {"ns:key": "value"}, "block_kagglehub": bool,
       "versions": {"N": "sha256:..."}, "images": {"sha256:...": "tag"},
       "deployed_tags": {"key": "value"} | null,  (what AWS holds already)
       "manifest": "docker" | "oci-index-attestation"}  (what ECR answers for the pushed image)
RESULT: {"resources": [...], "invokes": [...], "exports": {...}, "error": null | {...},
         "ecr_manifest_reads": [region, ...]}
(each resource: type, name, parent, dependencies, inputs (secrets unwrapped), the paths of
secret inputs, outputs, and for components what they passed to `register_outputs`)

The mocks answer the way the providers do (tests/infra/mocks.py).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import types
from pathlib import Path

# Run as a script: the repository root goes on the path first (it is then tests.support.REPO_ROOT).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

CONFIG_ENV = "PULUMI_CONFIG"


def block_kagglehub() -> None:
    """No network in tests: the data set "cannot be downloaded", as offline."""
    stub = types.ModuleType("kagglehub")

    def dataset_download(handle, *args, **kwargs):
        raise ConnectionError(f"network disabled in tests (kagglehub.dataset_download({handle!r}))")

    stub.dataset_download = dataset_download
    sys.modules["kagglehub"] = stub


def main(spec_path: str, result_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    # As the Pulumi CLI hands a Python program its configuration: one JSON object of
    # "project:key" -> string in PULUMI_CONFIG (the program reads it through pulumi.Config).
    os.environ[CONFIG_ENV] = json.dumps(spec["config"])
    if spec.get("block_kagglehub"):
        block_kagglehub()

    import pulumi

    from infra import manifest
    from tests.infra.mocks import RecordingMonitor, StackMocks, plain, stubbed_ecr
    from tests.support import REPO_ROOT

    manifest.ecr_client = stubbed_ecr(spec.get("manifest", "docker"), ecr_calls := [])

    mocks = StackMocks(
        region=spec["config"].get("aws:region", "us-east-1"),
        versions=spec.get("versions"),
        images=spec.get("images"),
        deployed_tags=spec.get("deployed_tags"),
    )
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project=spec["project"], stack=spec["stack"], preview=False, monitor=monitor
    )

    exports: dict = {}

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(REPO_ROOT), run_name="__main__")  # as Pulumi's Python host runs it
        outputs = pulumi.runtime.get_root_resource().outputs
        return pulumi.Output.all(**outputs).apply(exports.update)

    error = None
    try:
        program()
    except Exception as exc:  # the program's failure is the result under test
        error = {"type": type(exc).__name__, "message": str(exc)}

    result = {
        "resources": monitor.records(),
        "invokes": plain(mocks.invokes),
        "ecr_manifest_reads": ecr_calls,
        "exports": plain(exports),
        "error": error,
    }
    Path(result_path).write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
