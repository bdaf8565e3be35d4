"""Command line: `python -m chipotle_model serve`, the API on a local port, and `smoke`.

    python -m chipotle_model serve                  # trains and caches a model first if needed
    python -m chipotle_model serve --data CSV       # a model of that CSV (trained if the cache is not)
    python -m chipotle_model serve --model ARTIFACT # a model you trained
    python -m chipotle_model smoke URL [--origin ORIGIN]

Training has its own entry point: `python -m chipotle_model.train`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .model import ModelLoadError
from .server import DEFAULT_HOST, DEFAULT_PORT

# Where `serve` keeps the model it trains itself (build/ is never committed).
CACHED_MODEL = Path("build/model.joblib")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chipotle_model")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="answer the HTTP API locally (the same handler as in Lambda)",
        description="Serve GET /?lat=..&long=..[&k=..], POST / and GET /health on a local port. "
        f"Without --model, uses the model cached at {CACHED_MODEL}, training it first when it is "
        "absent (or was made from other data than --data).",
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--model", help="a model artifact (from python -m chipotle_model.train)")
    source.add_argument(
        "--data",
        help="train the cached model from this store CSV (default: data/chipotle_stores.csv, "
        "fetched from the public data set when absent)",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s; 0 = any)")
    serve.add_argument(
        "--cors-origins",
        default="*",
        help="origins CORS allows: '*' or comma-separated, like chipotle:corsAllowOrigins "
        "(default: %(default)s)",
    )
    smoke = commands.add_parser(
        "smoke",
        help="check the API's contract against a URL (the local server, or the deployed API)",
        description="Check every documented answer of the API at URL; exit 1 at the first difference.",
    )
    smoke.add_argument("url", help='the base URL, e.g. "$(pulumi stack output url)"')
    smoke.add_argument(
        "--origin",
        default="https://example.com",
        help="a browser origin CORS must allow (default: %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "smoke":
        from .smoke import run

        return run(args.url, origin=args.origin)

    from .cors import parse_origins
    from .server import serve as run_server
    from .train import Progress, TrainingFailed, cached_model

    try:
        model = args.model or cached_model(CACHED_MODEL, args.data, Progress())
        run_server(model, args.host, args.port, allow_origins=parse_origins(args.cors_origins))
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


if __name__ == "__main__":
    sys.exit(main())
