"""`python -m examples.regression_model serve` and `smoke URL` (serving.cli)."""

import sys

import examples.regression_model as package
from serving import cli


def main(argv: list[str] | None = None) -> int:
    return cli.main(package, argv)


if __name__ == "__main__":
    sys.exit(main())
