"""The command line of a model package: `python -m <package> serve` answers the HTTP API
on a local port, `python -m <package> smoke URL` checks an API's contract.

    python -m <package> serve                   # trains and caches a model first if needed
    python -m <package> serve --data DATA       # a model of that data (trained if the cache is not)
    python -m <package> serve --model ARTIFACT  # a model you trained
    python -m <package> smoke URL [--data DATA] [--origin ORIGIN] [--timeout S] [--deadline S]

Training has its own entry point: `python -m <package>.train`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType

from .artifact import ModelLoadError
from .contract import DEFAULT_DEADLINE_S, DEFAULT_TIMEOUT_S
from .server import DEFAULT_HOST, DEFAULT_PORT

# Where `serve` keeps the model it trains itself (build/ is never committed).
CACHED_MODEL = Path("build/model.joblib")


def _parser(package: ModuleType) -> argparse.ArgumentParser:
    name = package.__name__
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="answer the HTTP API locally (the same handler as in Lambda)",
        description=f"Serve the API of {name} on a local port. Without --model, uses the model "
        f"cached at {CACHED_MODEL}, training it first when it is absent (or was made from other "
        "data than --data).",
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--model", help=f"a model artifact (from python -m {name}.train)")
    source.add_argument(
        "--data", help=f"train the cached model from this data (default: {package.DEFAULT_DATA_PATH})"
    )
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help="address or name to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", default=str(DEFAULT_PORT), help="port, 1-65535 (default: %(default)s; 0 = any free port)"
    )
    serve.add_argument(
        "--cors-origins",
        default="*",
        help="origins CORS allows: '*' or comma-separated, like the stack's corsAllowOrigins "
        "(default: %(default)s)",
    )
    _add_smoke(commands)
    return parser


def _add_smoke(commands) -> None:
    smoke = commands.add_parser(
        "smoke",
        help="check the API's contract against a URL (the local server, or the deployed API)",
        description="Check every documented answer of the API at URL; exit 1 at the first difference, "
        "2 for a URL or option it cannot use.",
    )
    smoke.add_argument("url", help='the base URL, e.g. "$(pulumi stack output url)"')
    smoke.add_argument(
        "--data",
        help="the data the model was trained on: answers are checked against it (default: the "
        "package's known answers of its default data)",
    )
    smoke.add_argument(
        "--origin",
        default="https://example.com",
        help="a browser origin CORS must allow (default: %(default)s)",
    )
    smoke.add_argument(
        "--timeout",
        default=f"{DEFAULT_TIMEOUT_S:g}",
        help="seconds one request may take, connect to last byte (default: %(default)s)",
    )
    smoke.add_argument(
        "--deadline",
        default=f"{DEFAULT_DEADLINE_S:g}",
        help="seconds the whole run may take (default: %(default)s)",
    )


def _serve_options(args: argparse.Namespace) -> tuple[str, int, tuple[str, ...]]:
    """(host, port, origins) of `serve`, checked before anything is trained or loaded;
    ValueError names the option."""
    from .cors import OriginError, is_host, is_port, parse_origins

    if not is_host(args.host) or args.host.startswith("["):
        raise ValueError(f"--host must be an IP address or a DNS name such as 127.0.0.1, got {args.host!r}")
    if not (args.port == "0" or is_port(args.port)):
        raise ValueError(f"--port must be a number from 1 to 65535 (or 0: any free port), got {args.port!r}")
    try:
        origins = parse_origins(args.cors_origins)
    except OriginError as exc:
        raise ValueError(f"--cors-origins {exc}") from None
    return args.host, int(args.port), origins


def main(package: ModuleType, argv: list[str] | None = None) -> int:
    args = _parser(package).parse_args(argv)
    if args.command == "smoke":
        return _smoke(package, args)

    from .server import serve
    from .training import Progress, TrainingFailed, cached_model

    try:
        host, port, origins = _serve_options(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        model = args.model or cached_model(package, CACHED_MODEL, args.data, Progress())
        serve(package, model, host, port, allow_origins=origins)
    except TrainingFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _smoke(package: ModuleType, args: argparse.Namespace) -> int:
    """Every URL and option is checked before the first request: exit 2 and one line."""
    from .contract import UsageError, base_url, run, seconds

    try:
        url = base_url(args.url)
        timeout_s, deadline_s = seconds(args.timeout, "--timeout"), seconds(args.deadline, "--deadline")
        checks = package.contract_checks(None if args.data is None else Path(args.data))
    except (UsageError, ValueError) as exc:  # ValueError: the data cannot be read (the package's error)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run(url, checks, origin=args.origin, timeout_s=timeout_s, deadline_s=deadline_s)
