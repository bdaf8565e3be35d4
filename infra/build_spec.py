"""The one specification of both image builds (context, Dockerfile, build args, platform).

The Pulumi program builds from it and the tests build from it, so the images tested
here are the images deployed. Paths are relative to the project directory (REPO_ROOT,
where Pulumi runs the program), so a clone elsewhere builds the very same inputs.
Facts the Dockerfiles need (where the model goes) are passed to them as build args
from here. Pure data: no pulumi, no docker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTEXT = "."  # the build context: the project directory (.dockerignore admits what the images copy)
# Lambda `architectures` value -> Docker platform of both images.
PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}

# Where training leaves the model and its report, and where serving reads the model:
# one path in both images (the serving image's MODEL_PATH environment variable).
MODEL_PATH = "/opt/model/model.joblib"
REPORT_PATH = "/opt/model/report.json"


@dataclass(frozen=True)
class ImageBuild:
    """What `docker build` needs, run from the project directory."""

    dockerfile: str
    platform: str
    args: dict[str, str] = field(default_factory=dict)
    context: str = CONTEXT

    def docker_command(self, tag: str, *, network_host: bool = True) -> list[str]:
        """The equivalent `docker build` command line, to run in REPO_ROOT (the tests use it)."""
        cmd = ["docker", "build", "--platform", self.platform, "-f", self.dockerfile, "-t", tag]
        if network_host:
            cmd += ["--network", "host"]
        for key, value in self.args.items():
            cmd += ["--build-arg", f"{key}={value}"]
        return [*cmd, self.context]


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


def training_build(*, data_path: str | Path, base_image: str, architecture: str = "x86_64") -> ImageBuild:
    return ImageBuild(
        dockerfile="training_image/Dockerfile",
        platform=platform_for(architecture),
        args={
            "BASE_IMAGE": base_image,
            "DATA_PATH": context_relative(data_path),
            "MODEL_PATH": MODEL_PATH,
            "REPORT_PATH": REPORT_PATH,
        },
    )


def serving_build(
    *, training_image: str, data_sha256: str, base_image: str, architecture: str = "x86_64"
) -> ImageBuild:
    """`training_image` names the training image uniquely (a tag made from its image ID:
    BuildKit cannot FROM a bare ID), so a retrained model always changes the serving build."""
    return ImageBuild(
        dockerfile="lambda_image/Dockerfile",
        platform=platform_for(architecture),
        args={
            "BASE_IMAGE": base_image,
            "TRAINING_IMAGE": training_image,
            "DATA_SHA256": data_sha256,
            "MODEL_PATH": MODEL_PATH,
        },
    )


def main(argv: list[str] | None = None) -> int:
    """Print the `docker build` commands of both images (pipe them to `sh` to build)."""
    import argparse
    import hashlib
    import shlex

    from infra.config import DEFAULTS

    parser = argparse.ArgumentParser(prog="python -m infra.build_spec", description=main.__doc__)
    parser.add_argument("--base-image", default=DEFAULTS["baseImage"], help="default: %(default)s")
    parser.add_argument("--data", default=DEFAULTS["dataPath"], help="default: %(default)s")
    parser.add_argument("--architecture", default=DEFAULTS["architecture"], choices=sorted(PLATFORMS))
    parser.add_argument("--tag", default="nearest-store", help="serving image name (default: %(default)s)")
    args = parser.parse_args(argv)
    training_tag = f"{args.tag}-training:local"
    data_sha256 = hashlib.sha256((REPO_ROOT / args.data).read_bytes()).hexdigest()
    builds = (
        (
            training_build(data_path=args.data, base_image=args.base_image, architecture=args.architecture),
            training_tag,
        ),
        (
            serving_build(
                training_image=training_tag,
                data_sha256=data_sha256,
                base_image=args.base_image,
                architecture=args.architecture,
            ),
            f"{args.tag}:local",
        ),
    )
    print(f"cd {shlex.quote(str(REPO_ROOT))}")
    for spec, tag in builds:
        print(shlex.join(spec.docker_command(tag)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
