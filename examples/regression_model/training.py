"""Training: fit LinearRegression on 80% of the rows, report R² on the other 20%."""

from __future__ import annotations

from pathlib import Path

from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

from serving.training import Progress, Trained, TrainingFailed

from .data import DataError, ensure_data, read_rows

MIN_R2 = 0.9  # a model that explains less is not trained but failed


def train_model(data: Path, progress: Progress) -> Trained:
    try:
        rows = read_rows(ensure_data(Path(data), progress.say))
    except DataError as exc:
        raise TrainingFailed(2, str(exc)) from exc
    progress.phase("read", f"{len(rows.y):,} rows from {data}")
    x_fit, x_test, y_fit, y_test = train_test_split(rows.x, rows.y, test_size=0.2, random_state=0)
    model = LinearRegression().fit(x_fit, y_fit)
    r2 = float(model.score(x_test, y_test))
    progress.phase("fit", f"R² {r2:.6f} on {len(y_test)} held-out rows")
    report = {
        "rows": len(rows.y),
        "held_out_rows": len(y_test),
        "r2_held_out": r2,
        "coefficients": [float(c) for c in model.coef_],
        "intercept": float(model.intercept_),
    }
    if r2 < MIN_R2:
        raise TrainingFailed(1, f"held-out R² {r2:.4f} is below {MIN_R2}: the model is not usable")
    return Trained(
        model, {"data_sha256": rows.sha256, "rows": len(rows.y), "data_file": Path(data).name}, report
    )
