"""The real Lambda Runtime Interface Emulator on the host, around `python -m awslambdaric`.

scripts/fetch-rie takes the `aws-lambda-rie` binary out of the pinned aws-sam-cli wheel;
the emulator runs the handler module from lambda_image/ as the base image's entrypoint does.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from infra.local.images import INVOCATIONS_PATH
from tests.support import REPO_ROOT, free_port

FETCH_RIE = REPO_ROOT / "scripts" / "fetch-rie"


def fetch_rie() -> Path:
    """The RIE binary for this machine (fetched by scripts/fetch-rie when missing)."""
    env = {**os.environ, "PIP": f"{sys.executable} -m pip"}
    proc = subprocess.run([str(FETCH_RIE)], capture_output=True, text=True, timeout=900, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/fetch-rie failed: {proc.stderr.strip()[-2000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


class Emulator:
    """`aws-lambda-rie python -m awslambdaric handler.handler` on loopback ports."""

    def __init__(self, binary: Path, log: Path, env: dict[str, str], handler: str = "handler.handler"):
        self.port = free_port()
        self.binary = binary
        self.log = log
        command = [
            str(binary),
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
            "--runtime-api-address", f"127.0.0.1:{free_port()}",
            sys.executable, "-m", "awslambdaric", handler,
        ]  # fmt: skip
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA_"))}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT / "lambda_image",
                env={**clean, "PYTHONPATH": str(REPO_ROOT), "MODEL_PACKAGE": "chipotle_model", **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_listening()

    def _wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the RIE exited:\n{self.log_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the RIE did not listen:\n{self.log_text()}") from None
                time.sleep(0.05)

    def invoke(self, event: dict) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", INVOCATIONS_PATH, body=json.dumps(event).encode())
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                raise RuntimeError(f"the RIE answered {response.status}: {payload[:500]!r}")
            return json.loads(payload)
        finally:
            connection.close()

    def runtime_pid(self) -> int:
        """The runtime (python -m awslambdaric) the RIE started: a child of the RIE process."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"awslambdaric" in cmdline:
                return int(entry.name)
        raise RuntimeError("the RIE has no runtime process")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)  # the RIE and the runtime it started
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")
