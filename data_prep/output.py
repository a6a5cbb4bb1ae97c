"""Arrow tables of the row schema and atomic output.

:class:`TableBuilder` builds the parquet columns directly from samples (no per-row dicts). Every
file is written to a temporary file in the output directory and renamed into place only after all
of them are complete, so an interrupted run leaves no partial ``train.parquet`` / ``test.parquet``
/ ``report.json`` (temporary files are removed on failure). Each file is replaced atomically; the
renames run back to back, ``report.json`` last, so a report always describes the parquet beside it
(only a crash inside that window of microseconds could leave old and new parquet side by side).

>>> import tempfile, pyarrow.parquet as pq
>>> d = tempfile.mkdtemp()
>>> paths = write_outputs(d, {"train.parquet": [], "test.parquet": []}, {"ok": True})
>>> pq.read_table(paths["train.parquet"]).num_rows
0
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from toolzero_verl.core.parquet import MESSAGE, row_schema

from .rows import ABILITY, EXTRA_FIELDS, row_parts

BATCH_ROWS = 4096  # rows converted to Arrow at a time, to bound memory on the 60k-record corpus

ROW_SCHEMA = row_schema(pa.struct([(k, getattr(pa, t)()) for k, t, _ in EXTRA_FIELDS]))


def to_tables(rows: Sequence[Mapping[str, Any]]) -> list[pa.Table]:
    """Rows -> Arrow tables of :data:`ROW_SCHEMA`, :data:`BATCH_ROWS` rows each."""
    return [pa.Table.from_pylist(list(rows[i : i + BATCH_ROWS]), schema=ROW_SCHEMA) for i in range(0, len(rows), BATCH_ROWS)]


class TableBuilder:
    """Accumulates rows as Arrow columns (no per-row dicts), then makes a :data:`ROW_SCHEMA` table.

    >>> from data_prep.sample import Message, Sample
    >>> b = TableBuilder("answer", "train")
    >>> b.add(Sample("xlam", "1", (Message("user", "hi"),), ({"name": "f", "parameters": {}},), (), "[]"), 0.5)
    >>> t = b.table(); t.num_rows, t.column("prompt")[0][1]["content"].as_py()
    (1, 'hi')
    """

    def __init__(self, output_format: str, split: str, toolrl_gt: str = "json") -> None:
        self.output_format, self.split, self.toolrl_gt = output_format, split, toolrl_gt
        self.sources: list[str] = []
        self.roles: list[str] = []
        self.contents: list[str] = []
        self.offsets: list[int] = [0]
        self.gts: list[str] = []
        self.extra: list[list] = [[] for _ in EXTRA_FIELDS]
        self.cache: dict = {}

    def add(self, sample: Any, difficulty: float) -> None:
        prompt, gt, values = row_parts(sample, self.output_format, self.split, len(self.sources), difficulty,
                                       self.toolrl_gt, self.cache)
        self.sources.append(sample.source)
        for m in prompt:
            self.roles.append(m["role"])
            self.contents.append(m["content"])
        self.offsets.append(len(self.roles))
        self.gts.append(gt)
        for column, v in zip(self.extra, values):
            column.append(v)

    def table(self) -> pa.Table:
        n = len(self.sources)
        messages = pa.StructArray.from_arrays([pa.array(self.roles, pa.string()), pa.array(self.contents, pa.string())],
                                              fields=list(MESSAGE))
        prompt = pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), messages, type=pa.list_(MESSAGE))
        reward = pa.StructArray.from_arrays([pa.array(["rule"] * n, pa.string()), pa.array(self.gts, pa.string())],
                                            fields=list(ROW_SCHEMA.field("reward_model").type))
        extra_type = ROW_SCHEMA.field("extra_info").type
        extra = pa.StructArray.from_arrays([pa.array(col, f.type) for col, f in zip(self.extra, extra_type)],
                                           fields=list(extra_type))
        return pa.Table.from_arrays(
            [pa.array(self.sources, pa.string()), prompt, pa.array([ABILITY] * n, pa.string()), reward, extra],
            schema=ROW_SCHEMA)


def write_parquet(data: Sequence[Mapping[str, Any]] | Sequence[pa.Table], path: str | os.PathLike) -> None:
    """Write rows (dicts) or ready Arrow tables with the fixed :data:`ROW_SCHEMA`."""
    tables = data if data and isinstance(data[0], pa.Table) else to_tables(data)
    with pq.ParquetWriter(str(path), ROW_SCHEMA) as writer:
        for table in tables:
            writer.write_table(table)
        if not tables:
            writer.write_table(ROW_SCHEMA.empty_table())


def _temp_path(out_dir: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def write_outputs(out_dir: str | os.PathLike, parquet: Mapping[str, Sequence], report: Mapping[str, Any]) -> dict[str, str]:
    """Write ``{file name: rows or Arrow tables}`` parquet files and ``report.json`` atomically;
    returns the final paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name, rows in parquet.items():
            temps[name] = _temp_path(out, name)
            write_parquet(rows, temps[name])
        temps["report.json"] = _temp_path(out, "report.json")
        temps["report.json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        final = {}
        for name, tmp in temps.items():  # all complete: rename into place
            os.replace(tmp, out / name)
            final[name] = str(out / name)
        return final
    finally:
        for tmp in temps.values():
            if tmp.exists():
                tmp.unlink()

