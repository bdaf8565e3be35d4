"""Training CLI: CSV in, model artifact (and evaluation report) out.

    python -m chipotle_model.train --data CSV --out ARTIFACT [--report REPORT.json]

The platform's training command (serving.training.main) around this package's
`train_model`; its phases, outputs and exit statuses are described there.
"""

import sys

import chipotle_model
from serving import training


def main(argv: list[str] | None = None) -> int:
    return training.main(chipotle_model, argv)


if __name__ == "__main__":
    sys.exit(main())
