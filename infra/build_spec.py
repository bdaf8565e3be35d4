"""The one specification of both image builds (context, Dockerfile, build args, platform).

The Pulumi program builds from it and the image tests build from it, so the
images tested here are the images deployed. Pure data: no pulumi, no docker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_IMAGE = "public.ecr.aws/lambda/python:3.13"
DEFAULT_DATA_PATH = "data/chipotle_stores.csv"
# Lambda `architectures` value -> Docker platform of both images.
PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}

# Where the training image leaves its outputs, and where the serving image keeps the model.
TRAINING_OUTPUT_DIR = "/opt/model"
ARTIFACT_NAME = "model.joblib"
REPORT_NAME = "report.json"
TASK_ROOT = "/var/task"  # LAMBDA_TASK_ROOT of the Lambda base images
SERVING_MODEL_PATH = f"{TASK_ROOT}/model/{ARTIFACT_NAME}"
HANDLER = "handler.handler"


@dataclass(frozen=True)
class ImageBuild:
    """What `docker build` needs: run from `context` with `dockerfile`, `args`, `platform`."""

    context: Path
    dockerfile: Path
    platform: str
    args: dict[str, str] = field(default_factory=dict)

    def docker_command(self, tag: str, *, network_host: bool = True) -> list[str]:
        """The equivalent `docker build` command line (used by the tests)."""
        cmd = ["docker", "build", "--platform", self.platform, "-f", str(self.dockerfile), "-t", tag]
        if network_host:
            cmd += ["--network", "host"]
        for key, value in self.args.items():
            cmd += ["--build-arg", f"{key}={value}"]
        return [*cmd, str(self.context)]


def platform_for(architecture: str) -> str:
    try:
        return PLATFORMS[architecture]
    except KeyError:
        raise ValueError(
            f"architecture must be one of {', '.join(PLATFORMS)}, got {architecture!r}"
        ) from None


def context_relative(path: str | Path, context: Path = REPO_ROOT) -> str:
    """`path` as a POSIX path inside the build context, or ValueError (Docker cannot COPY from outside)."""
    absolute = (context / path).resolve()
    try:
        return str(PurePosixPath(absolute.relative_to(context.resolve()).as_posix()))
    except ValueError:
        raise ValueError(f"{path} is outside the build context {context}; put the CSV under data/") from None


def training_build(
    *,
    data_path: str | Path = DEFAULT_DATA_PATH,
    architecture: str = "x86_64",
    base_image: str = DEFAULT_BASE_IMAGE,
    context: Path = REPO_ROOT,
) -> ImageBuild:
    return ImageBuild(
        context=context,
        dockerfile=context / "training_image" / "Dockerfile",
        platform=platform_for(architecture),
        args={"BASE_IMAGE": base_image, "DATA_PATH": context_relative(data_path, context)},
    )


def serving_build(
    *,
    training_image: str,
    data_sha256: str,
    architecture: str = "x86_64",
    base_image: str = DEFAULT_BASE_IMAGE,
    context: Path = REPO_ROOT,
) -> ImageBuild:
    """`training_image` names the training image uniquely (a tag made from its image ID:
    BuildKit cannot FROM a bare ID), so a retrained model always changes the serving build."""
    return ImageBuild(
        context=context,
        dockerfile=context / "lambda_image" / "Dockerfile",
        platform=platform_for(architecture),
        args={"BASE_IMAGE": base_image, "TRAINING_IMAGE": training_image, "DATA_SHA256": data_sha256},
    )
