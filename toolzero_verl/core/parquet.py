"""The verl parquet row schema, shared by ``toolzero-prep`` (training rows) and ``toolzero-eval``
(BFCL rows), so both write rows verl's ``RLHFDataset`` reads the same way (docs/data.md, "Rows").

A row is ``data_source, prompt (chat list), ability, reward_model{style, ground_truth}, extra_info``;
only ``extra_info``'s fields differ between writers. Episode rows (``toolzero-prep --agent-loop``) add
``agent_name``, the verl agent loop that runs the row (docs/multiturn.md).

>>> import pyarrow as pa
>>> schema = row_schema(pa.struct([("split", pa.string()), ("index", pa.int64())]))
>>> schema.names
['data_source', 'prompt', 'ability', 'reward_model', 'extra_info']
"""

from __future__ import annotations

import pyarrow as pa

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
REWARD_MODEL = pa.struct([("style", pa.string()), ("ground_truth", pa.string())])


def row_schema(extra_info: pa.StructType, agent_name: bool = False) -> pa.Schema:
    """The row schema with the given ``extra_info`` struct (and verl's per-row ``agent_name`` column)."""
    fields = [
        ("data_source", pa.string()),
        ("prompt", pa.list_(MESSAGE)),
        ("ability", pa.string()),
        ("reward_model", REWARD_MODEL),
        ("extra_info", extra_info),
    ]
    if agent_name:
        fields.append(("agent_name", pa.string()))
    return pa.schema(fields)
