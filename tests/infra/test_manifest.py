"""infra/manifest.py against ECR's BatchGetImage answers (botocore's Stubber): what Lambda
runs passes, an OCI index (attestations, several platforms) or an attestation is refused."""

from __future__ import annotations

import copy
import json

import botocore.session
import pulumi
import pytest
from botocore.stub import Stubber

from infra import manifest
from tests.infra.mocks import MANIFESTS

DIGEST = "sha256:" + "ab" * 32
IMAGE_URI = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/chipotle-dev-serving-1a2b3c4@{DIGEST}"


def answer(media_type: str, body: dict) -> dict:
    return {
        "images": [
            {
                "registryId": "123456789012",
                "repositoryName": "chipotle-dev-serving-1a2b3c4",
                "imageId": {"imageDigest": DIGEST},
                "imageManifest": json.dumps(body),
                "imageManifestMediaType": media_type,
            }
        ],
        "failures": [],
    }


@pytest.fixture
def ecr(monkeypatch):
    """A stubbed ECR client that expects exactly the call the check makes."""
    client = botocore.session.Session().create_client(
        "ecr", region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    stubber = Stubber(client)
    regions = []

    def factory(region, profile=None):
        regions.append((region, profile))
        return client

    monkeypatch.setattr(manifest, "ecr_client", factory)

    def respond(response: dict) -> None:
        expected = {
            "registryId": "123456789012",
            "repositoryName": "chipotle-dev-serving-1a2b3c4",
            "imageIds": [{"imageDigest": DIGEST}],
            "acceptedMediaTypes": [*manifest.LAMBDA_ACCEPTS, manifest.OCI_INDEX, manifest.DOCKER_LIST],
        }
        stubber.add_response("batch_get_image", response, expected)
        stubber.activate()

    yield respond, regions
    stubber.assert_no_pending_responses()


def test_a_single_docker_manifest_passes_in_the_images_region(ecr):
    respond, regions = ecr
    respond(answer(*MANIFESTS["docker"]))
    assert manifest.checked_image_uri(IMAGE_URI, "ops") == IMAGE_URI
    assert regions == [("eu-west-1", "ops")]


def test_a_single_oci_image_manifest_passes(ecr):
    respond, _ = ecr
    body = {**MANIFESTS["docker"][1], "mediaType": manifest.OCI_MANIFEST}
    respond(answer(manifest.OCI_MANIFEST, body))
    assert manifest.checked_image_uri(IMAGE_URI) == IMAGE_URI


def test_an_oci_index_with_an_attestation_stops_the_up_naming_cause_and_fix(ecr):
    respond, _ = ecr
    respond(answer(*MANIFESTS["oci-index-attestation"]))
    with pytest.raises(pulumi.RunError) as refused:
        manifest.checked_image_uri(IMAGE_URI)
    message = str(refused.value)
    assert "was pushed as an OCI image index of 1 image(s) and 1 attestation manifest(s)" in message
    assert "the function was not changed" in message
    for fix in ("containerd image store", "--provenance=false --sbom=false", "one --platform"):
        assert fix in message


def test_a_multi_platform_index_is_refused(ecr):
    respond, _ = ecr
    media_type, body = copy.deepcopy(MANIFESTS["oci-index-attestation"])
    body["manifests"][1] = {**body["manifests"][0], "platform": {"architecture": "arm64", "os": "linux"}}
    respond(answer(media_type, body))
    with pytest.raises(pulumi.RunError, match="an OCI image index of 2 platform images"):
        manifest.checked_image_uri(IMAGE_URI)


def test_an_attestation_manifest_is_not_an_image(ecr):
    respond, _ = ecr
    body = {
        "schemaVersion": 2,
        "mediaType": manifest.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGEST},
        "layers": [{"mediaType": manifest.IN_TOTO, "digest": DIGEST}],
    }
    respond(answer(manifest.OCI_MANIFEST, body))
    with pytest.raises(pulumi.RunError, match="an attestation manifest"):
        manifest.checked_image_uri(IMAGE_URI)


def test_an_image_ecr_does_not_have_is_reported(ecr):
    respond, _ = ecr
    failure = {"imageId": {"imageDigest": DIGEST}, "failureCode": "ImageNotFound", "failureReason": "gone"}
    respond({"images": [], "failures": [failure]})
    with pytest.raises(pulumi.RunError, match="ImageNotFound: gone"):
        manifest.checked_image_uri(IMAGE_URI)
