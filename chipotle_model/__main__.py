"""`python -m chipotle_model serve` (the API on a local port) and `smoke URL`: the
platform's command line (serving.cli) for this package."""

import sys

import chipotle_model
from serving import cli


def main(argv: list[str] | None = None) -> int:
    return cli.main(chipotle_model, argv)


if __name__ == "__main__":
    sys.exit(main())
