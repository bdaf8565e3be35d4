"""The execution environment's lifecycle: how it was initialised, and the SnapStart hooks.

With SnapStart (published versions only), Lambda runs INIT once when a version is
published, snapshots the initialised environment (memory and disk), and starts new
environments by restoring that snapshot instead of running INIT again. So:

- Everything heavy happens at INIT, before the snapshot: the imports, loading the
  model and the warm-up queries (lambda_image/handler.py does them at import). The
  before-snapshot hook only tidies the heap: a full collection, then `gc.freeze()`, so
  the garbage collector never walks the snapshot's objects again after a restore
  (restored memory is loaded lazily, on first touch).
- What must differ between environments restored from one snapshot is made again
  after the restore: the state of `random` and of numpy's global generator (every
  restored copy would otherwise draw the same numbers). The hook also records that
  this environment was restored.

Each request's log line carries `init_type` (Lambda's AWS_LAMBDA_INITIALIZATION_TYPE:
`on-demand`, `provisioned-concurrency` or `snap-start`; absent where it is unset, as in
the emulator) and `restored`; with Powertools' `cold_start` they tell a restore
(`cold_start` and `restored` true) from a cold INIT (`cold_start` true, `restored` false).

The hooks are registered with snapshot_restore_py, which awslambdaric brings into every
Lambda Python image and which runs them only under SnapStart (awslambdaric calls them
when AWS_LAMBDA_INITIALIZATION_TYPE is `snap-start`); elsewhere nothing is registered.
"""

from __future__ import annotations

import gc
import os
import random
from typing import Any

INIT_TYPE_VARIABLE = "AWS_LAMBDA_INITIALIZATION_TYPE"


_restored = False  # set by the after-restore hook; never reset in this process


def log_fields() -> dict[str, Any]:
    """The request log's fields about this execution environment."""
    return {"init_type": os.environ.get(INIT_TYPE_VARIABLE), "restored": _restored}


def before_snapshot() -> None:
    """Before Lambda snapshots the initialised environment."""
    gc.collect()
    gc.freeze()


def after_restore(logger=None) -> None:
    """After Lambda restored this environment from the snapshot: new random state, and
    a record that it was restored (logged once, with `logger` when given)."""
    import numpy as np

    global _restored
    random.seed()  # from os.urandom, which differs per environment
    np.random.seed()
    _restored = True
    if logger is not None:
        logger.info("restored from snapshot", extra=log_fields())


def register_snapstart_hooks(logger=None) -> bool:
    """Register the hooks with snapshot_restore_py; False where it is not installed."""
    try:
        import snapshot_restore_py
    except ImportError:
        return False
    snapshot_restore_py.register_before_snapshot(before_snapshot)
    snapshot_restore_py.register_after_restore(after_restore, logger)
    return True
