"""`python -m <package> serve` run as a user runs it: a process of its own, on loopback,
ready once it prints its URL (the banner of serving/server.py)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.build_spec import DEFAULT_MODEL_PACKAGE, REPO_ROOT

# "serving <service> (<package>) at http://127.0.0.1:<port>/"
BANNER = re.compile(r"serving \S+ \((?P<package>[\w.]+)\) at http://127\.0\.0\.1:(?P<port>\d+)/")


@dataclass
class ServeProcess:
    process: subprocess.Popen
    port: int
    # what it printed on stderr before it was ready (training progress, the banner)
    startup: list[str]

    @property
    def store_count(self) -> int:
        """The stores of the model it serves, as its /health says."""
        return json.loads(self.request("GET", "/health")[2])["store_count"]

    def rss_kb(self) -> int:
        """Resident memory of the server process, from /proc (Linux)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def stop(self) -> str:
        """Stop the server (SIGTERM); return what it printed on stderr after starting."""
        self.process.terminate()
        rest = self.process.stderr.read()
        self.process.wait(timeout=30)
        return rest

    def request(self, method: str, target: str, headers=None, body: bytes | None = None, timeout=30):
        return request(self.port, method, target, headers, body, timeout=timeout)


def request(port: int, method: str, target: str, headers=None, body: bytes | None = None, timeout=30):
    """(status, headers, body) of one request on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@contextlib.contextmanager
def serve_process(
    *args: str, cwd: Path = REPO_ROOT, package: str = DEFAULT_MODEL_PACKAGE
) -> Iterator[ServeProcess]:
    """Run `python -m <package> serve --port 0 ARGS` until the block ends; yields once it
    prints its URL. Its stdout (one log line per request) is discarded."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", package, "serve", "--port", "0", *args]
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    startup: list[str] = []
    try:
        for line in process.stderr:
            startup.append(line)
            if "(Ctrl-C to stop)" in line:  # the banner's last line
                break
        match = BANNER.search("".join(startup))
        if not match:
            raise AssertionError(f"serve exited ({process.wait(30)}): {''.join(startup)}")
        yield ServeProcess(process, int(match["port"]), startup)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        process.stderr.close()
