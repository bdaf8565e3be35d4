"""The original pattern's handler: the model is unpickled on every request (bench/original.py)."""

import os

from original import original_handler

handler = original_handler(os.path.join(os.environ.get("LAMBDA_TASK_ROOT", "/var/task"), "model.pkl"))
