"""Arrow tables of the row schema, built column by column from samples (no per-row dicts).

>>> ROW_SCHEMA.names
['data_source', 'prompt', 'ability', 'reward_model', 'extra_info']
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from toolzero_verl.core.episode import AGENT_NAME
from toolzero_verl.core.parquet import MESSAGE, row_schema

from .rows import ABILITY, EXTRA_FIELDS, row_parts

EXTRA_INFO = pa.struct([(k, getattr(pa, t)()) for k, t, _ in EXTRA_FIELDS])
ROW_SCHEMA = row_schema(EXTRA_INFO)
EPISODE_ROW_SCHEMA = row_schema(EXTRA_INFO, agent_name=True)  # --agent-loop rows


class TableBuilder:
    """Accumulates rows as Arrow columns (no per-row dicts), then makes a :data:`ROW_SCHEMA` table.

    >>> from data_prep.sample import Message, Sample
    >>> b = TableBuilder("answer", "train")
    >>> b.add(Sample("xlam", "1", (Message("user", "hi"),), ({"name": "f", "parameters": {}},), (), "[]"), 0.5)
    >>> t = b.table(); t.num_rows, t.column("prompt")[0][1]["content"].as_py()
    (1, 'hi')
    """

    def __init__(self, output_format: str, split: str, toolrl_gt: str = "json", executor: str | None = None) -> None:
        """``executor`` (``auto``/``replay``/``simulate``): build episode rows (``--agent-loop``)."""
        self.output_format, self.split, self.toolrl_gt, self.executor = output_format, split, toolrl_gt, executor
        self.schema = ROW_SCHEMA if executor is None else EPISODE_ROW_SCHEMA
        self.sources: list[str] = []
        self.roles: list[str] = []
        self.contents: list[str] = []
        self.offsets: list[int] = [0]
        self.gts: list[str] = []
        self.extra: list[list] = [[] for _ in EXTRA_FIELDS]
        self.cache: dict = {}

    def add(self, sample: Any, difficulty: float) -> None:
        prompt, gt, values = row_parts(sample, self.output_format, self.split, len(self.sources), difficulty,
                                       self.toolrl_gt, self.cache, self.executor)
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
        columns = [pa.array(self.sources, pa.string()), prompt, pa.array([ABILITY] * n, pa.string()), reward, extra]
        if self.executor is not None:
            columns.append(pa.array([AGENT_NAME] * n, pa.string()))
        return pa.Table.from_arrays(columns, schema=self.schema)
