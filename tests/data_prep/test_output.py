"""Atomic parquet/report writing (data_prep.output)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import data_prep.output as output
from data_prep.output import ROW_SCHEMA, write_outputs
from data_prep.rows import build_row
from data_prep.sample import Message, Sample
from toolzero_verl.core.calls import ToolCall


def rows(n):
    tool = {
        "name": "f",
        "description": "",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": []},
    }
    return [
        build_row(
            Sample("xlam", str(i), (Message("user", f"q{i}"),), (tool,), (ToolCall("f", {"a": i}),)),
            "answer",
            "train",
            i,
        )
        for i in range(n)
    ]


def test_writes_schema_and_replaces(tmp_path, monkeypatch):
    monkeypatch.setattr(output, "BATCH_ROWS", 3)  # several batches
    paths = write_outputs(tmp_path, {"train.parquet": rows(7), "test.parquet": []}, {"n": 7})
    t = pq.read_table(paths["train.parquet"])
    assert t.schema.equals(ROW_SCHEMA) and t.num_rows == 7
    assert pq.read_table(paths["test.parquet"]).schema.equals(ROW_SCHEMA)
    assert json.loads((tmp_path / "report.json").read_text()) == {"n": 7}
    write_outputs(tmp_path, {"train.parquet": rows(2), "test.parquet": []}, {"n": 2})  # overwrite
    assert pq.read_table(paths["train.parquet"]).num_rows == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "test.parquet", "train.parquet"]


def test_failure_keeps_previous_outputs_and_no_temp(tmp_path, monkeypatch):
    write_outputs(tmp_path, {"train.parquet": rows(2), "test.parquet": []}, {"n": 2})
    real = output.write_parquet

    def fail_on_test(r, path):
        if ".test.parquet." in str(path):
            raise OSError("disk full")
        real(r, path)

    monkeypatch.setattr(output, "write_parquet", fail_on_test)
    with pytest.raises(OSError):
        write_outputs(tmp_path, {"train.parquet": rows(5), "test.parquet": rows(1)}, {"n": 5})
    assert pq.read_table(tmp_path / "train.parquet").num_rows == 2  # old complete set untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "test.parquet", "train.parquet"]
