"""The pushed serving image, checked before the function is given it: Lambda runs a single
image manifest only (Docker image manifest v2 schema 2, or an OCI image manifest). An OCI
image index (what Docker's containerd image store or a `docker buildx` builder pushes when
it adds provenance or SBOM attestations, or builds several platforms) or an attestation
manifest is refused by Lambda only at the function update ("The image manifest, config or
layer media type for the source image ... is not supported"); this check stops the `up`
before that, naming the cause and the builder setting that fixes it.

The manifest is read from ECR (BatchGetImage) with botocore, in the region of the image's
registry and with the AWS credentials the provider uses from the environment (`aws:profile`
is passed on; other `aws:` credential settings are not).
"""

from __future__ import annotations

import json
import re

import pulumi

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
LAMBDA_ACCEPTS = (DOCKER_MANIFEST, OCI_MANIFEST)
# BuildKit marks an attestation manifest in an index with this annotation.
REFERENCE_TYPE = "vnd.docker.reference.type"
ATTESTATION = "attestation-manifest"
IN_TOTO = "application/vnd.in-toto+json"
FIX = (
    "Push a single-platform image with no attestations: turn off Docker's containerd image "
    "store (Docker Desktop: Settings > General > 'Use containerd for pulling and storing "
    'images\'; dockerd: "features": {"containerd-snapshotter": false} in daemon.json), or, '
    "building with docker buildx, pass --provenance=false --sbom=false (or set "
    "BUILDX_NO_DEFAULT_ATTESTATIONS=1) and one --platform."
)
_ECR_IMAGE = re.compile(
    r"^(?P<registry>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^@:]+)@(?P<digest>sha256:[0-9a-f]{64})$"
)


def ecr_client(region: str, profile: str | None = None):
    """A botocore ECR client (the tests put a stubbed one in its place)."""
    import botocore.session

    return botocore.session.Session(profile=profile).create_client("ecr", region_name=region)


def checked_image_uri(image_uri: str, profile: str | None = None) -> str:
    """`image_uri` (`<registry>/<repository>@sha256:...`) when Lambda can run what it names,
    else pulumi.RunError naming what was pushed and how to push what Lambda runs."""
    found = _ECR_IMAGE.match(image_uri)
    if found is None:
        raise pulumi.RunError(f"not an ECR image reference by digest: {image_uri}")
    response = ecr_client(found["region"], profile).batch_get_image(
        registryId=found["registry"],
        repositoryName=found["repository"],
        imageIds=[{"imageDigest": found["digest"]}],
        acceptedMediaTypes=[*LAMBDA_ACCEPTS, OCI_INDEX, DOCKER_LIST],
    )
    if not response.get("images"):
        failures = "; ".join(
            f"{f.get('failureCode')}: {f.get('failureReason')}" for f in response["failures"]
        )
        raise pulumi.RunError(f"the pushed image {image_uri} is not in ECR ({failures or 'no answer'})")
    image = response["images"][0]
    media_type = image.get("imageManifestMediaType") or json.loads(image["imageManifest"]).get("mediaType")
    problem = refusal(media_type, json.loads(image["imageManifest"]))
    if problem:
        raise pulumi.RunError(
            f"The serving image {image_uri} was pushed as {problem}; Lambda runs a single image "
            f"manifest only ({', '.join(LAMBDA_ACCEPTS)}) and would refuse it at the function "
            f"update, so the function was not changed. {FIX}"
        )
    return image_uri


def refusal(media_type: str | None, manifest: dict) -> str | None:
    """What is wrong with a manifest for Lambda, or None when Lambda runs it."""
    if media_type in (OCI_INDEX, DOCKER_LIST):
        entries = manifest.get("manifests", [])
        attestations = [m for m in entries if (m.get("annotations") or {}).get(REFERENCE_TYPE) == ATTESTATION]
        images = len(entries) - len(attestations)
        what = "an OCI image index" if media_type == OCI_INDEX else "a Docker manifest list"
        if attestations:
            return (
                f"{what} of {images} image(s) and {len(attestations)} attestation manifest(s) "
                "(provenance or SBOM, which BuildKit adds with the containerd image store or buildx)"
            )
        return f"{what} of {images} platform images (a multi-platform build)"
    if media_type not in LAMBDA_ACCEPTS:
        return f"a manifest of media type {media_type!r}"
    layers = manifest.get("layers", [])
    if layers and all(layer.get("mediaType") == IN_TOTO for layer in layers):
        return "an attestation manifest (in-toto provenance or SBOM), not an image"
    return None
