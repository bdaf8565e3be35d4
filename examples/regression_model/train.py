"""`python -m examples.regression_model.train --data CSV --out ARTIFACT [--report REPORT.json]`
(serving.training.main around this package's train_model)."""

import sys

import examples.regression_model as package
from serving import training


def main(argv: list[str] | None = None) -> int:
    return training.main(package, argv)


if __name__ == "__main__":
    sys.exit(main())
