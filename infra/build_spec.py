"""The one specification of both image builds (Dockerfiles, targets, build args, platform).

The training image is training_image/Dockerfile (it trains during the build: the model's
archive). The serving image is one multi-stage build of that file followed by
lambda_image/Dockerfile (joined here into build/dockerfiles/serving.Dockerfile, target
`serving`), which takes the model from the `training` stage with COPY --from. So the
hand-off needs no image tag on the machine that builds: a serving build builds its
training stage too, or takes it from the build cache, and survives `docker image prune
-a`, another machine and another Docker socket.

The Pulumi program builds from this and the tests build from this, so the images tested
here are the images deployed. Paths are relative to the project directory (REPO_ROOT,
where Pulumi runs the program), so a clone elsewhere has the very same build inputs.
Facts the Dockerfiles need (where the model goes, the model version) are passed to them
as build args from here. No pulumi, no docker.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTEXT = "."  # the build context: the project directory; .dockerignore admits what the images copy
TRAINING_DOCKERFILE = "training_image/Dockerfile"
SERVING_STAGE = "lambda_image/Dockerfile"  # the stage after training's, not a Dockerfile alone
JOINED_DOCKERFILE = "build/dockerfiles/serving.Dockerfile"
TRAINING_TARGET = "training"
SERVING_TARGET = "serving"
# Lambda `architectures` value -> Docker platform of both images.
PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}

# Where training leaves the model and its report, and where serving reads the model:
# one path in both images (the serving image's MODEL_PATH environment variable).
MODEL_PATH = "/opt/model/model.joblib"
REPORT_PATH = "/opt/model/report.json"
DEFAULT_MODEL_PACKAGE = "chipotle_model"
# What the training stage reads besides the data and the model package (the serving
# stage reads everything admitted).
TRAINING_INPUTS = (
    TRAINING_DOCKERFILE,
    "requirements/constraints.txt",
    "requirements/model.txt",
    "requirements/training.txt",
    "serving",
)


@dataclass(frozen=True)
class ImageBuild:
    """What `docker build` needs, run from the project directory."""

    dockerfile: str
    target: str
    platform: str
    args: dict[str, str] = field(default_factory=dict)
    context: str = CONTEXT

    def docker_command(self, tag: str, *, network_host: bool = True) -> list[str]:
        """The equivalent `docker build` command line, to run in REPO_ROOT (the tests use it)."""
        cmd = ["docker", "build", "--platform", self.platform, "-f", self.dockerfile, "--target", self.target]
        cmd += ["-t", tag]
        if network_host:
            cmd += ["--network", "host"]
        for key, value in self.args.items():
            cmd += ["--build-arg", f"{key}={value}"]
        return [*cmd, self.context]


@dataclass(frozen=True)
class ModelBuild:
    """Both images of one model, and the names that identify it."""

    training: ImageBuild
    serving: ImageBuild
    model_version: str  # names the training run's inputs: data, code, environment, base image
    serving_tag: str  # unique to the serving build's inputs: a new image never reuses a tag
    training_tag: str  # the training image's (the archive's): the model version and its build's inputs


def platform_for(architecture: str) -> str:
    try:
        return PLATFORMS[architecture]
    except KeyError:
        raise ValueError(
            f"architecture must be one of {', '.join(PLATFORMS)}, got {architecture!r}"
        ) from None


def context_relative(path: str | Path, project_dir: Path = REPO_ROOT) -> str:
    """`path` as a POSIX path inside the build context, or ValueError (Docker cannot COPY from outside)."""
    absolute = (project_dir / path).resolve()
    try:
        return str(PurePosixPath(absolute.relative_to(project_dir.resolve()).as_posix()))
    except ValueError:
        raise ValueError(
            f"{path} is outside the build context {project_dir}; put the CSV under data/"
        ) from None


def model_build(
    *,
    data_path: str | Path,
    base_image: str,
    model_package: str = DEFAULT_MODEL_PACKAGE,
    architecture: str = "x86_64",
    snapstart: bool = False,
    tracing: bool = False,
    project_dir: Path = REPO_ROOT,
) -> ModelBuild:
    """The training and serving builds of `model_package` (a dotted name, its folder in
    `project_dir`) trained on `data_path` (in `project_dir`).

    `snapstart`: the image declares itself ready for SnapStart where the base does not
    (only AWS's Python 3.12+ base images are ready without the label); `tracing`: the
    serving image installs the tracing library (requirements/tracing.txt).
    """
    data = context_relative(data_path, project_dir)
    model_dir = package_dir(model_package, project_dir)
    platform = platform_for(architecture)
    recipe = {"base_image": base_image, "platform": platform, "model_package": model_package}
    model_version = "m-" + fingerprint([*TRAINING_INPUTS, model_dir, data], recipe, project_dir)[:12]
    args = {
        "BASE_IMAGE": base_image,
        "MODEL_PACKAGE": model_package,
        "MODEL_DIR": model_dir,
        "DATA_PATH": data,
        "DATA_FILE": PurePosixPath(data).name,
        "MODEL_PATH": MODEL_PATH,
        "REPORT_PATH": REPORT_PATH,
        "MODEL_VERSION": model_version,
        "SNAPSTART": "Allow" if snapstart and not is_aws_python_base(base_image) else "",
        "TRACING": "true" if tracing else "false",
    }
    # One tag, one digest: each tag covers everything its build receives (every file the
    # .dockerignore admits, all of data/ included, with its mode, as pulumi-docker hashes
    # the context; the Dockerfiles; the build args, platform and target), so a build whose
    # bytes could differ gets a new tag, and an existing tag is never pushed again.
    context = admitted_paths(project_dir)
    training_tag = _tag(
        model_version, [*context, TRAINING_DOCKERFILE], {**recipe, **args}, TRAINING_TARGET, project_dir
    )
    serving_inputs = [*context, TRAINING_DOCKERFILE, SERVING_STAGE]
    serving_tag = _tag(model_version, serving_inputs, {**recipe, **args}, SERVING_TARGET, project_dir)
    return ModelBuild(
        training=ImageBuild(TRAINING_DOCKERFILE, TRAINING_TARGET, platform, args),
        serving=ImageBuild(write_joined_dockerfile(project_dir), SERVING_TARGET, platform, args),
        model_version=model_version,
        serving_tag=serving_tag,
        training_tag=training_tag,
    )


def package_dir(model_package: str, project_dir: Path = REPO_ROOT) -> str:
    """The folder of `model_package` in the build context ("examples.regression_model" ->
    "examples/regression_model"), or ValueError when it is not a package folder there."""
    folder = model_package.replace(".", "/")
    if not all(part.isidentifier() for part in model_package.split(".")):
        raise ValueError(f"model package {model_package!r} is not a dotted Python name")
    if not (project_dir / folder / "__init__.py").is_file():
        raise ValueError(f"model package {model_package!r}: no {folder}/__init__.py in {project_dir}")
    if not any(folder == p or folder.startswith(p + "/") for p in admitted_paths(project_dir)):
        raise ValueError(f"model package {model_package!r}: .dockerignore does not admit {folder}/")
    return folder


def _tag(model_version: str, paths: list[str], extra: dict[str, str], target: str, project_dir: Path) -> str:
    return f"{model_version}-{fingerprint(paths, {**extra, 'target': target}, project_dir, modes=True)[:8]}"


def is_aws_python_base(image: str) -> bool:
    """An AWS Lambda Python base image of 3.12 or later (SnapStart-ready as it is); a
    digest of AWS's repository counts as the current one."""
    return bool(
        re.match(
            r"^(public\.ecr\.aws/lambda/python|amazon/aws-lambda-python)(:3\.(1[2-9]|[2-9][0-9]))?(@|$)",
            image,
        )
    )


def joined_dockerfile_text(project_dir: Path = REPO_ROOT) -> str:
    """training_image/Dockerfile, then lambda_image/Dockerfile: one multi-stage Dockerfile."""
    parts = [(project_dir / path).read_text() for path in (TRAINING_DOCKERFILE, SERVING_STAGE)]
    header = f"# Generated by infra/build_spec.py: {TRAINING_DOCKERFILE} then {SERVING_STAGE}. Do not edit.\n"
    return header + "\n".join(parts)


def write_joined_dockerfile(project_dir: Path = REPO_ROOT) -> str:
    """Write the serving build's Dockerfile (only when it changed); its path for the build."""
    path = project_dir / JOINED_DOCKERFILE
    text = joined_dockerfile_text(project_dir)
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return JOINED_DOCKERFILE


def admitted_paths(project_dir: Path = REPO_ROOT) -> list[str]:
    """What .dockerignore lets into the build context (its `!path` lines): the one list of
    the images' inputs."""
    lines = (project_dir / ".dockerignore").read_text().splitlines()
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


def fingerprint(
    paths: list[str], extra: dict[str, str], project_dir: Path = REPO_ROOT, *, modes: bool = False
) -> str:
    """sha256 over the files under `paths` (names and bytes, bytecode caches aside, and with
    `modes` their permission bits, which COPY keeps in the image) and `extra`."""
    digest = hashlib.sha256(repr(sorted(extra.items())).encode())
    files: set[Path] = set()
    for path in paths:
        root = project_dir / path
        files.update(root.rglob("*") if root.is_dir() else [root])
    for file in sorted(
        f
        for f in files
        if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".pyo", ".pyd")
    ):
        digest.update(file.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
        if modes:
            digest.update(oct(file.stat().st_mode & 0o7777).encode())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Print the `docker build` commands of both images (pipe them to `sh` to build)."""
    import argparse
    import shlex

    from infra.project import DEFAULTS

    parser = argparse.ArgumentParser(prog="python -m infra.build_spec", description=main.__doc__)
    parser.add_argument("--base-image", default=DEFAULTS["baseImage"], help="default: %(default)s")
    parser.add_argument("--data", default=DEFAULTS["dataPath"], help="default: %(default)s")
    parser.add_argument("--architecture", default=DEFAULTS["architecture"], choices=sorted(PLATFORMS))
    parser.add_argument("--tag", default="nearest-store", help="image name (default: %(default)s)")
    args = parser.parse_args(argv)
    build = model_build(data_path=args.data, base_image=args.base_image, architecture=args.architecture)
    print(f"cd {shlex.quote(str(REPO_ROOT))}")
    print(shlex.join(build.training.docker_command(f"{args.tag}-training:{build.model_version}")))
    print(shlex.join(build.serving.docker_command(f"{args.tag}:{build.serving_tag}")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
