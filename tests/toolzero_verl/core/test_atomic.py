"""Atomic writes: a failed write leaves the previous file and no temporary file."""

from __future__ import annotations

import pytest

from toolzero_verl.core.atomic import atomic_path, write_text_atomic


def test_failed_write_keeps_the_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "metrics.json"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
