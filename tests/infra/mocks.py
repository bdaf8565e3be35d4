"""Pulumi mocks that answer as the AWS and Docker providers do, and a monitor that records
each registration (its parent, dependencies, custom timeouts and secret inputs) for assertions.

Used in process by the component tests (`pulumi.runtime.set_mocks` + `@pulumi.runtime.test`)
and in a fresh interpreter per run by tests/infra/mock_program.py for the whole program.

ECR repositories get a `repository_url`, images a `repo_digest` (the local image ID
`sha256:...` when not pushed, `repository@sha256:...` when pushed) derived from their
build inputs and, for a training build, the bytes of the CSV it copies (as Docker's
content addressing would), the HTTP API an `execution_arn`, its stage an `invoke_url`,
the ECR token call credentials.
"""

from __future__ import annotations

import hashlib
import json

import pulumi
from pulumi.runtime import mocks, rpc

from tests.support import REPO_ROOT

ACCOUNT = "123456789012"
MOCK_PASSWORD = "mock-ecr-password"


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


def plain(value):
    """A JSON-safe copy."""
    return json.loads(json.dumps(value, default=str))


def unwrap(value, path: str = "") -> tuple[object, list[str]]:
    """`value` with secrets replaced by their plain values, and the paths where secrets were."""
    if rpc.is_rpc_secret(value):
        inner, _ = unwrap(rpc.unwrap_rpc_secret(value), path)
        return inner, [path or "."]
    if isinstance(value, dict):
        secrets: list[str] = []
        out = {}
        for key, item in value.items():
            out[key], found = unwrap(item, f"{path}.{key}" if path else key)
            secrets += found
        return out, secrets
    if isinstance(value, list):
        secrets, items = [], []
        for index, item in enumerate(value):
            inner, found = unwrap(item, f"{path}[{index}]")
            items.append(inner)
            secrets += found
        return items, secrets
    return plain(value), []


def autoname(name: str) -> str:
    """Pulumi's auto-name: the logical name and a random suffix (here a fixed one)."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"


class StackMocks(pulumi.runtime.Mocks):
    """`versions`: the Lambda versions that exist already (number -> serving image digest),
    as a previous deploy would have left them; `images`: digest -> tag in the serving
    repository (what ECR still holds); `deployed_tags`: the function's tags as a previous
    deploy left them (what a preview reads), None: as this run declares them."""

    def __init__(
        self,
        region: str = "us-east-1",
        *,
        versions: dict[str, str] | None = None,
        images: dict[str, str] | None = None,
        published_version: str = "7",
        deployed_tags: dict[str, str] | None = None,
    ):
        self.region = region
        self.versions = versions or {}
        self.images = images or {}
        self.published_version = published_version
        self.deployed_tags = deployed_tags
        self.invokes: list[dict] = []
        self.inputs: dict[tuple[str, str], dict] = {}  # (type, name) -> the inputs the program gave

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        self.inputs[(args.typ, args.name)] = inputs
        state = dict(inputs)
        typ, name, region = args.typ, args.name, self.region
        if typ == "aws:ecr/repository:Repository":
            repo = state.setdefault("name", autoname(name))
            state.update(
                repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}",
                registryId=ACCOUNT,
                arn=f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}",
            )
        elif typ == "docker:index/image:Image":
            build = unwrap(inputs.get("build", {}))[0]
            data_path = build.get("args", {}).get("DATA_PATH")
            data = (REPO_ROOT / build["context"] / data_path).read_bytes() if data_path else b""
            digest = _digest(build, inputs.get("imageName"), data)
            image_name = inputs["imageName"]
            if inputs.get("skipPush"):
                state["repoDigest"] = f"sha256:{digest}"
            else:
                state["repoDigest"] = f"{image_name.rsplit(':', 1)[0]}@sha256:{digest}"
            state["baseImageName"] = state["imageName"] = image_name
        elif typ == "docker:index/tag:Tag":
            state["sourceImageId"] = f"sha256:{_digest(inputs['sourceImage'])}"
        elif typ == "aws:iam/role:Role":
            state.setdefault("name", autoname(name))
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{state['name']}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            group = state.setdefault("name", inputs.get("namePrefix", "") + "0123456789abcdef")
            state["arn"] = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}"
        elif typ == "aws:lambda/function:Function":
            function = state.setdefault("name", autoname(name))
            arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}"
            state.update(arn=arn, invokeArn=_invoke_arn(region, arn), version=self.published_version)
            state["qualifiedArn"] = f"{arn}:{self.published_version}"
        elif typ == "aws:lambda/alias:Alias":
            arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['functionName']}:{inputs['name']}"
            state.update(arn=arn, invokeArn=_invoke_arn(region, arn))
        elif typ == "aws:apigatewayv2/api:Api":
            api_id = "a1b2c3d4e5"
            state.update(
                apiEndpoint=f"https://{api_id}.execute-api.{region}.amazonaws.com",
                executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT}:{api_id}",
            )
            return api_id, state
        elif typ == "aws:sns/topic:Topic":
            state["arn"] = f"arn:aws:sns:{region}:{ACCOUNT}:{autoname(name)}"
        elif typ == "aws:apigatewayv2/stage:Stage":
            state["invokeUrl"] = f"https://{inputs['apiId']}.execute-api.{region}.amazonaws.com/"
        return f"{name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.invokes.append({"token": args.token, "args": dict(args.args), "provider": args.provider})
        if args.token == "aws:lambda/getFunction:getFunction" and "qualifier" not in args.args:
            return self._function(args.args["functionName"])
        if args.token == "aws:lambda/getFunction:getFunction":
            version = args.args["qualifier"]
            if version not in self.versions:  # as the provider fails: the version does not exist
                raise Exception(
                    f"reading Lambda Function: ResourceNotFoundException: Function not found: {version}"
                )
            repo = f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/repo"
            return {"imageUri": f"{repo}@{self.versions[version]}", "version": version}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        if args.token == "aws:ecr/getImages:getImages":
            return {"imageIds": [{"imageDigest": d, "imageTag": t} for d, t in self.images.items()]}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            registry = args.args.get("registryId", ACCOUNT)
            return {
                "authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": self.region,
                "password": MOCK_PASSWORD,
                "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
                "region": self.region,
                "userName": "AWS",
            }
        return {}

    def _function(self, name: str) -> dict:
        """The function as Lambda describes it: tagged as `deployed_tags` says (a previous
        deploy, seen at preview), else as this run declared it (seen after its update)."""
        declared = next(
            (inputs for (typ, _), inputs in self.inputs.items() if typ == "aws:lambda/function:Function"), {}
        )
        tags = self.deployed_tags if self.deployed_tags is not None else declared.get("tags", {})
        return {"functionName": name, "tags": tags, "version": "$LATEST"}


def _invoke_arn(region: str, arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


class RecordingMonitor(mocks.MockMonitor):
    """Pulumi's mock monitor, also keeping each registration's parent, dependencies,
    secret inputs and (for components) registered outputs."""

    def __init__(self, stack_mocks: StackMocks):
        super().__init__(stack_mocks)
        self._records: list[dict] = []
        self._registered_outputs: dict[str, dict] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.get_registered_resources()[response.urn]
            inputs, secrets = unwrap(self.mocks.inputs[(request.type, request.name)])
            self._records.append(
                {
                    "urn": response.urn,
                    "type": request.type,
                    "name": request.name,
                    "custom": request.custom,
                    "parent": request.parent,
                    "dependencies": list(request.dependencies),
                    "property_dependencies": {
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    "delete_before_replace": request.deleteBeforeReplace,
                    "retain_on_delete": request.retainOnDelete,
                    "custom_timeouts": {
                        phase: getattr(request.customTimeouts, phase)
                        for phase in ("create", "update", "delete")
                        if request.HasField("customTimeouts") and getattr(request.customTimeouts, phase)
                    },
                    "provider": request.provider,
                    "inputs": inputs,
                    "secret_inputs": secrets,
                    "outputs": unwrap(registration.state)[0],
                    "id": registration.id,
                }
            )
        return response

    def RegisterResourceOutputs(self, request):
        self._registered_outputs[request.urn] = unwrap(rpc.deserialize_properties(request.outputs))[0]
        return super().RegisterResourceOutputs(request)

    def records(self) -> list[dict]:
        return [{**r, "registered_outputs": self._registered_outputs.get(r["urn"])} for r in self._records]


# What ECR answers for a pushed image (BatchGetImage), by kind: a single Docker manifest (what
# Lambda runs), or the OCI index with an attestation that the containerd store pushes.
MANIFESTS = {
    "docker": (
        "application/vnd.docker.distribution.manifest.v2+json",
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": "sha256:" + "c" * 64,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": "sha256:" + "d" * 64,
                }
            ],
        },
    ),
    "oci-index-attestation": (
        "application/vnd.oci.image.index.v1+json",
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + "e" * 64,
                    "platform": {"architecture": "amd64", "os": "linux"},
                },
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + "f" * 64,
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.digest": "sha256:" + "e" * 64,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                },
            ],
        },
    ),
}


def stubbed_ecr(kind: str = "docker", calls: list | None = None):
    """An `infra.manifest.ecr_client` whose clients answer BatchGetImage as ECR does, with
    the manifest of `kind`, through botocore's Stubber (no network, no credentials)."""
    import botocore.session
    from botocore.stub import ANY, Stubber

    media_type, manifest = MANIFESTS[kind]

    def client(region: str, profile: str | None = None):
        ecr = botocore.session.Session().create_client(
            "ecr", region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
        )
        stubber = Stubber(ecr)
        answer = {
            "images": [
                {
                    "registryId": ACCOUNT,
                    "repositoryName": "repo",
                    "imageId": {"imageDigest": "sha256:" + "0" * 64},
                    "imageManifest": json.dumps(manifest),
                    "imageManifestMediaType": media_type,
                }
            ],
            "failures": [],
        }
        expected = {"registryId": ANY, "repositoryName": ANY, "imageIds": ANY, "acceptedMediaTypes": ANY}
        stubber.add_response("batch_get_image", answer, expected)
        stubber.activate()
        if calls is not None:
            calls.append(region)
        return ecr

    return client
