"""Pulumi.yaml and Pulumi.dev.yaml against what the program and the Pulumi CLI expect."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from infra.config import DATA_DIR, DEFAULTS, KEYS, NAMESPACE, parse_settings
from tests.infra.program import REPO_ROOT, load_yaml, stack_config

PROJECT = load_yaml("Pulumi.yaml")
YAML_TYPES = {bool: "boolean", int: "integer", str: "string"}


def test_project_name_is_the_config_namespace():
    assert PROJECT["name"] == NAMESPACE
    assert PROJECT.get("description")


def test_runtime_makes_its_own_virtualenv_with_pip():
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (REPO_ROOT / "__main__.py").is_file()


def test_local_file_backend_outside_the_repository_and_build_context():
    url = PROJECT["backend"]["url"]
    parsed = urlparse(url)
    assert parsed.scheme == "file", "no Pulumi Cloud account needed"
    # Relative file:// URLs resolve against the shell's working directory, not the project.
    raw = url.removeprefix("file://")
    assert raw.startswith("~") or raw.startswith("/"), f"{url} depends on where pulumi is run"
    state = Path(os.path.expanduser(raw)) / ".pulumi"  # where the file backend writes
    assert not state.resolve().is_relative_to(REPO_ROOT.resolve()), "state inside the build context"


def test_every_key_declared_with_a_description_and_a_default_of_its_type():
    """The Pulumi CLI validates a value against the declared type; the program reads the
    defaults from here (infra/config.py), so each must parse as its type."""
    for key, declaration in PROJECT["config"].items():
        assert declaration.get("description", "").strip(), f"{key} has no description"
        assert YAML_TYPES[type(declaration["default"])] == declaration["type"], key
    assert tuple(PROJECT["config"]) == KEYS


def test_dev_stack_sets_the_region_and_only_known_keys():
    dev = load_yaml("Pulumi.dev.yaml")["config"]
    assert dev.get("aws:region")
    for key in dev:
        namespace, _, name = key.partition(":")
        assert namespace in (NAMESPACE, "aws"), key
        if namespace == NAMESPACE:
            assert name in KEYS, key


def test_dev_stack_config_is_valid():
    config = stack_config()
    raw = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{NAMESPACE}:")}
    parse_settings(raw)


def test_default_data_path_is_sent_to_the_docker_build():
    """dataPath must be under data/, the only data .dockerignore lets into the context."""
    assert str(DEFAULTS["dataPath"]).startswith(f"{DATA_DIR}/")
    ignore = (REPO_ROOT / ".dockerignore").read_text().split()
    assert f"!{DATA_DIR}/" in ignore


ROOT_REQUIREMENTS = REPO_ROOT / "requirements.txt"


def test_pulumi_installs_the_pinned_dependencies():
    """Pulumi's pip toolchain installs only ./requirements.txt: it must include requirements/dev.txt."""
    lines = [line.strip() for line in ROOT_REQUIREMENTS.read_text().splitlines()]
    assert "-r requirements/dev.txt" in lines


def deployment_docs() -> str:
    """The README and the deployment guide (its configuration table)."""
    return (REPO_ROOT / "README.md").read_text() + (REPO_ROOT / "docs" / "deploy.md").read_text()


def test_docs_table_lists_every_key_with_its_default():
    docs = deployment_docs()
    for key, default in DEFAULTS.items():
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert f"| `{NAMESPACE}:{key}` | `{shown}` |" in docs, f"{key} missing or its default differs"


def test_docs_show_the_commands_and_the_architecture():
    docs = deployment_docs()
    for text in ("PULUMI_CONFIG_PASSPHRASE", "pulumi stack select --create dev", "pulumi up",
                 "pulumi stack output url", "curl ", "pulumi destroy", "```mermaid"):  # fmt: skip
        assert text in docs, text


def test_model_package_and_build_spec_never_import_pulumi():
    code = (
        "import sys, chipotle_model, chipotle_model.fetch, chipotle_model.train, infra.build_spec\n"
        "pulumi = ('pulumi', 'pulumi_aws', 'pulumi_docker')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in pulumi)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=120)


def infra_imports() -> dict[str, set[str]]:
    """Each infra module -> the infra modules it imports, anywhere in it (a function's
    deferred import included: it is a cycle all the same)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / "infra").glob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found |= {name.split(".")[1] for name in names if name.startswith("infra.")}
        graph[path.stem] = found & {p.stem for p in (REPO_ROOT / "infra").glob("*.py")}
    return graph


def test_the_infra_modules_import_each_other_without_a_cycle():
    graph = infra_imports()
    assert "config" in graph["build_spec"] or "project" in graph["build_spec"]  # the parser sees them
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module not in done:
            for imported in graph[module]:
                visit(imported, (*path, module))
            done.add(module)

    for module in graph:
        visit(module, ())


def test_the_deploy_guide_states_the_publish_timeout_and_what_to_do_after_a_failed_publish():
    from infra.components import PUBLISH_TIMEOUT

    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    section = guide[guide.index("### When a publish is slow or fails") : guide.index("### Remove it")]
    section = " ".join(section.split())
    minutes = PUBLISH_TIMEOUT.removesuffix("m")
    assert f"**{minutes} minutes**" in section and "`PUBLISH_TIMEOUT`" in section
    for step in ("the alias `live` is not moved", "`Failed`", "pulumi refresh", "publishes a new version"):
        assert step in section, step


def test_the_deploy_guide_says_destroy_preview_and_refresh_need_a_docker_engine(dev_run):
    """pulumi-docker's Configure pings the engine (pulumi/pulumi-docker#1106): the
    prerequisites and "Remove it" say so, and the recovery without any engine names the
    stack's real Docker provider (its name carries the pinned version)."""
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    prerequisites = " ".join(guide[guide.index("### Prerequisites") : guide.index("### Deploy")].split())
    remove = guide[guide.index("### Remove it") : guide.index("## Configuration")]
    for text in (prerequisites, " ".join(remove.split())):
        assert "pulumi/pulumi-docker#1106" in text and "failed to connect to any docker daemon" in text
        assert all(command in text for command in ("`pulumi preview`", "`pulumi refresh`", "destroy"))
    assert "DOCKER_HOST=ssh://" in remove and "pulumi destroy" in remove
    version = importlib.metadata.version("pulumi_docker").replace(".", "_")
    stack = dev_run.serving_image["urn"].split("::")[0]  # urn:pulumi:<stack>
    provider = f"{stack}::{PROJECT['name']}::pulumi:providers:docker::default_{version}"
    assert f"pulumi state delete --target-dependents '{provider}'" in remove
    assert remove.index("pulumi state delete") < remove.rindex("pulumi destroy")
