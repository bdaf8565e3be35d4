"""Run the real `__main__.py` under Pulumi's mocks and write what it did as JSON.

Run in a fresh interpreter per program run (Pulumi's runtime is process-global state):

    python tests/infra/mock_program.py SPEC.json RESULT.json

SPEC: {"project", "stack", "config": {"ns:key": "value"}, "block_kagglehub": bool}
RESULT: {"resources": [...], "invokes": [...], "exports": {...}, "error": null | {...}}
(each resource: type, name, parent, dependencies, inputs, outputs, and for components
what they passed to `register_outputs`)

The mocks stand in for AWS and Docker the way the providers answer: ECR repositories get
a `repository_url`, images a `repo_digest` (the local image ID `sha256:...` when not
pushed, `repository@sha256:...` when pushed) derived from their build inputs and, for a
training build, the bytes of the CSV it copies (as Docker's content addressing would),
the HTTP API an `execution_arn`, its stage an `invoke_url`, and the ECR token call
credentials.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
import types
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
MOCK_PASSWORD = "mock-ecr-password"


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


def main(spec_path: str, result_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    if spec.get("block_kagglehub"):
        # No network in tests: the data set "cannot be downloaded", as offline.
        stub = types.ModuleType("kagglehub")

        def dataset_download(handle, *args, **kwargs):
            raise ConnectionError(f"network disabled in tests (kagglehub.dataset_download({handle!r}))")

        stub.dataset_download = dataset_download
        sys.modules["kagglehub"] = stub

    import pulumi
    from pulumi.runtime import mocks, settings, stack, sync_await

    region = spec["config"].get("aws:region", "us-east-1")
    resources: list[dict] = []
    invokes: list[dict] = []
    inputs_of: dict[tuple[str, str], dict] = {}  # (type, name) -> the inputs the program gave
    registered_outputs: dict[str, dict] = {}  # component URN -> its register_outputs

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            inputs = dict(args.inputs)
            state = dict(inputs)
            typ, name = args.typ, args.name
            inputs_of[(typ, name)] = inputs
            if typ == "aws:ecr/repository:Repository":
                state.update(
                    repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{inputs['name']}",
                    registryId=ACCOUNT,
                    arn=f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{inputs['name']}",
                )
            elif typ == "docker:index/image:Image":
                build = inputs.get("build", {})
                data = b""
                data_path = build.get("args", {}).get("DATA_PATH")
                if data_path:
                    data = (Path(build["context"]) / data_path).read_bytes()
                digest = _digest(build, inputs.get("imageName"), data)
                image_name = inputs["imageName"]
                if inputs.get("skipPush"):
                    state["repoDigest"] = f"sha256:{digest}"
                else:
                    repository = image_name.rsplit(":", 1)[0]
                    state["repoDigest"] = f"{repository}@sha256:{digest}"
                    state["registryServer"] = inputs.get("registry", {}).get("server")
                state["baseImageName"] = image_name
                state["imageName"] = image_name
            elif typ == "docker:index/tag:Tag":
                state["sourceImageId"] = f"sha256:{_digest(inputs['sourceImage'])}"
            elif typ == "aws:iam/role:Role":
                state.setdefault("name", f"{name}-0000000")
                state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{state['name']}"
            elif typ == "aws:cloudwatch/logGroup:LogGroup":
                state["arn"] = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs['name']}"
            elif typ == "aws:lambda/function:Function":
                arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['name']}"
                state.update(
                    arn=arn,
                    invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                )
            elif typ == "aws:apigatewayv2/api:Api":
                api_id = "a1b2c3d4e5"
                state.update(
                    apiEndpoint=f"https://{api_id}.execute-api.{region}.amazonaws.com",
                    executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT}:{api_id}",
                )
                return api_id, state
            elif typ == "aws:apigatewayv2/stage:Stage":
                state["invokeUrl"] = f"https://{inputs['apiId']}.execute-api.{region}.amazonaws.com/"
            return f"{name}-id", state

        def call(self, args: pulumi.runtime.MockCallArgs):
            invokes.append({"token": args.token, "args": dict(args.args)})
            if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                registry = args.args.get("registryId", ACCOUNT)
                return {
                    "authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk",
                    "expiresAt": "2099-01-01T00:00:00Z",
                    "id": region,
                    "password": MOCK_PASSWORD,
                    "proxyEndpoint": f"https://{registry}.dkr.ecr.{region}.amazonaws.com",
                    "region": region,
                    "userName": "AWS",
                }
            return {}

    class RecordingMonitor(mocks.MockMonitor):
        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                registered = self.resources[response.urn]
                inputs, secrets = _unwrap(inputs_of[(request.type, request.name)])
                resources.append(
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
                        "inputs": inputs,
                        "secret_inputs": secrets,
                        "outputs": _unwrap(registered.state)[0],
                        "id": registered.id,
                    }
                )
            return response

        def RegisterResourceOutputs(self, request):
            from pulumi.runtime import rpc

            outputs = rpc.deserialize_properties(request.outputs)
            registered_outputs[request.urn] = _unwrap(outputs)[0]
            return super().RegisterResourceOutputs(request)

    pulumi.runtime.set_all_config(spec["config"])
    mock_impl = Mocks()
    pulumi.runtime.set_mocks(
        mock_impl,
        project=spec["project"],
        stack=spec["stack"],
        preview=False,
        monitor=RecordingMonitor(mock_impl),
    )

    exports: dict = {}
    error = None

    def program():
        runpy.run_path(str(REPO_ROOT), run_name="__main__")  # as Pulumi's Python host runs it
        root = settings.get_root_resource()
        outputs = {key: pulumi.Output.from_input(value) for key, value in root.outputs.items()}
        exports.update(sync_await._sync_await(pulumi.Output.all(**outputs).future()) or {})

    try:
        sync_await._sync_await(stack.run_pulumi_func(program))
    except Exception as exc:  # the program's failure is the result under test
        error = {"type": type(exc).__name__, "message": str(exc)}

    result = {
        "resources": [{**r, "registered_outputs": registered_outputs.get(r["urn"])} for r in resources],
        "invokes": _plain(invokes),
        "exports": _plain(exports),
        "error": error,
    }
    Path(result_path).write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    return 0


def _plain(value):
    """A JSON-safe copy."""
    return json.loads(json.dumps(value, default=str))


def _unwrap(value, path: str = "") -> tuple[object, list[str]]:
    """`value` with Pulumi's serialized secrets replaced by their plain values, and the
    dotted paths where secrets were."""
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            plain, _ = _unwrap(value["value"], path)
            return plain, [path or "."]
        secrets: list[str] = []
        plain = {}
        for key, item in value.items():
            plain[key], found = _unwrap(item, f"{path}.{key}" if path else key)
            secrets += found
        return plain, secrets
    if isinstance(value, list):
        secrets = []
        items = []
        for index, item in enumerate(value):
            plain, found = _unwrap(item, f"{path}[{index}]")
            items.append(plain)
            secrets += found
        return items, secrets
    return _plain(value), []


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
