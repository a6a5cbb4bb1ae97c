"""The training clock: where the step comes from, progress, the total, and the missing-step policy."""

from __future__ import annotations

import logging

import pytest

from toolzero_verl.core import logs
from toolzero_verl.core.clock import (
    clock_from_extra,
    progress_at,
    require_step,
    resolve_step,
    resolve_total_steps,
)
from toolzero_verl.core.options import ConfigError


def test_explicit_step_wins_over_extra_info():
    clock = clock_from_extra({"global_steps": 3, "training_progress": 0.1}, step=9)
    assert clock.step == 9.0 and clock.progress == 0.1


def test_progress_from_step_and_total_is_clipped():
    assert clock_from_extra({"global_steps": 50}, total=40).progress == 1.0
    assert clock_from_extra({"global_steps": 10}).progress is None
    assert progress_at(-3, 10) == 0.0


def test_weight_version_stamp_means_the_next_step(caplog, monkeypatch):
    monkeypatch.setattr(logs, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="toolzero_verl"):
        assert clock_from_extra({"global_steps": 4, "max_global_steps": 4}).step == 5.0
    assert "weight version" in caplog.text
    # with the toolzero manager's progress key present, global_steps is the trainer step itself
    assert clock_from_extra({"global_steps": 4, "max_global_steps": 4, "training_progress": 0.5}).step == 4.0


def test_validation_rows_are_not_training_rows():
    assert clock_from_extra({"split": "test"}).is_train is False
    assert clock_from_extra(None).is_train is True


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "soon", [1]])
def test_non_finite_or_non_numeric_steps_are_config_errors(bad):
    with pytest.raises(ConfigError, match="global_steps must be"):
        clock_from_extra({}, step=bad)
    with pytest.raises(ConfigError, match="training_progress must be"):
        clock_from_extra({"training_progress": bad})


def test_row_step_sources_in_order():
    assert resolve_step({"global_steps": 7, "extra_info": {"global_steps": 1}}) == (7, "global_steps")
    assert resolve_step({"tool_extra_fields": {"max_global_steps": 2}}) == (3, "weight_version")
    assert resolve_step({"extra_info": {"global_steps": "5"}}) == (5, "extra_info")
    assert resolve_step({"global_steps": float("nan")}) == (None, "none")


def test_total_steps_order_and_async_sync_step():
    cfg = {
        "trainer": {"total_training_steps": 30},
        "actor_rollout_ref": {"actor": {"optim": {"total_training_steps": 99}}},
    }
    assert resolve_total_steps(cfg) == 30
    cfg["trainer"]["total_training_steps"] = None
    assert resolve_total_steps(cfg, {"total_training_steps": 12}) == 12
    assert resolve_total_steps(cfg) == 99
    assert resolve_total_steps({"actor_rollout_ref": {"actor": {"optim": {"total_training_steps": -1}}}}) is None


def test_missing_step_policy(caplog, monkeypatch):
    with pytest.raises(ConfigError, match="needs the training step"):
        require_step("error", "schedule X", "k")
    monkeypatch.setattr(logs, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="toolzero_verl"):
        require_step("warn", "schedule X", "k")
        require_step("warn", "schedule X", "k")
    assert caplog.text.count("needs the training step") == 1
