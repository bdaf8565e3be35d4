"""Replacing files together: all of them, or none of them and no temporary file left."""

import os
import stat

import pytest

from serving.files import replaced_together


def test_every_target_is_replaced_when_all_are_written(tmp_path):
    first, second = tmp_path / "model.joblib", tmp_path / "report.json"
    first.write_text("old model")
    with replaced_together([first, second]) as (first_tmp, second_tmp):
        assert first.read_text() == "old model" and not second.exists()  # nothing visible yet
        first_tmp.write_text("new model")
        second_tmp.write_text("new report")
    assert (first.read_text(), second.read_text()) == ("new model", "new report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.joblib", "report.json"]


def test_a_failure_while_writing_any_target_leaves_all_as_they_were(tmp_path):
    first, second = tmp_path / "model.joblib", tmp_path / "report.json"
    first.write_bytes(b"old model")
    second.write_bytes(b"old report")
    with (
        pytest.raises(OSError, match="disk full"),
        replaced_together([first, second]) as (first_tmp, second_tmp),
    ):
        first_tmp.write_bytes(b"new model, complete")
        second_tmp.write_bytes(b"new rep")
        raise OSError("disk full")
    assert (first.read_bytes(), second.read_bytes()) == (b"old model", b"old report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.joblib", "report.json"]


def test_new_files_get_the_usual_mode_not_mkstemps_private_one(tmp_path):
    """A model made by root in the training image is read by the Lambda function's user."""
    target = tmp_path / "model.joblib"
    previous = os.umask(0o022)
    try:
        with replaced_together([target]) as (temporary,):
            temporary.write_text("model")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
