"""The Pulumi project's declarations (Pulumi.yaml): its name, the config namespace, every
key and its default. Read by infra/config.py (which adds the allowed ranges) and by
`python -m infra.build_spec` (its defaults); imports nothing of infra, so neither of those
imports the other for it."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
_PROJECT = yaml.safe_load(PROJECT_FILE.read_text())
NAMESPACE = _PROJECT["name"]  # the project name: `pulumi.Config()` reads this namespace
# Every key of the namespace and its default, as Pulumi.yaml declares them.
DEFAULTS: dict[str, str | int | bool] = {key: spec["default"] for key, spec in _PROJECT["config"].items()}
KEYS = tuple(DEFAULTS)
