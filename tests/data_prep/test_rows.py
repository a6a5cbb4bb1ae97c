"""Parquet rows (data_prep.rows): the columns and ground truth of docs/data.md §6, and verl 0.9.1's
RLHFDataset loading them and applying a chat template to every row."""

from __future__ import annotations

import json

import pytest

from data_prep.pipeline import PrepConfig, run
from data_prep.rows import build_row
from data_prep.sample import Message, Sample
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import get_format
from toolzero_verl.core.ground_truth import load_ground_truth

from .conftest import EXAMPLE_FILES

TOOL = {
    "name": "get_weather",
    "description": "Weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "default": "celsius"}},
        "required": ["city"],
    },
}


def test_row_layout_and_ground_truth():
    s = Sample(
        "xlam", "5", (Message("user", "Weather in Paris?"),), (TOOL,), (ToolCall("get_weather", {"city": "Paris"}),)
    )
    row = build_row(s, "hermes", "test", 3, 1.5)
    assert set(row) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    assert row["data_source"] == "xlam" and row["ability"] == "tool_call"
    assert row["reward_model"]["style"] == "rule"
    gt = json.loads(row["reward_model"]["ground_truth"])
    assert gt == {
        "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
        "tools": [TOOL],
        "possible_answers": [{"get_weather": {"city": ["Paris"], "unit": ["", "celsius"]}}],
        "answer": None,
    }
    assert load_ground_truth(row["reward_model"]["ground_truth"]).calls == s.calls
    system = row["prompt"][0]
    assert system["role"] == "system" and json.dumps(TOOL) in system["content"]
    assert get_format("hermes").instruction in system["content"]
    assert "Example" not in system["content"]  # no few-shot
    assert row["prompt"][1] == {"role": "user", "content": "Weather in Paris?"}
    ei = row["extra_info"]
    assert (ei["split"], ei["index"], ei["source"], ei["source_id"], ei["n_calls"], ei["difficulty"]) == (
        "test",
        3,
        "xlam",
        "5",
        1,
        1.5,
    )


@pytest.mark.parametrize("fmt", ["answer", "hermes", "toolrl"])
def test_history_rendered_in_the_output_format(fmt):
    prior = ToolCall("get_weather", {"city": "Rome"})
    s = Sample(
        "toolace",
        "0:3",
        (
            Message("user", "Rome?"),
            Message("assistant", "", (prior,)),
            Message("tool", '[{"t": 20}]'),
            Message("assistant", "It is 20C."),
            Message("user", "Paris?"),
        ),
        (TOOL,),
        (ToolCall("get_weather", {"city": "Paris"}),),
    )
    row = build_row(s, fmt)
    assert [m["role"] for m in row["prompt"]] == ["system", "user", "assistant", "tool", "assistant", "user"]
    f = get_format(fmt)
    assert f.parse(row["prompt"][2]["content"], ["get_weather"]).calls == (prior,)
    assert row["prompt"][3]["content"] == '[{"t": 20}]'
    assert "It is 20C." in row["prompt"][4]["content"]


@pytest.mark.verl
@pytest.mark.parametrize("fmt", ["answer", "hermes", "toolrl"])
def test_rlhf_dataset_loads_every_row(tmp_path, tiny_tokenizer, fmt):
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    run(
        PrepConfig(
            out=str(tmp_path),
            output_format=fmt,
            progress=False,
            test_size=0.2,
            **{k: str(v) for k, v in EXAMPLE_FILES.items()},
        )
    )
    tok = AutoTokenizer.from_pretrained(str(tiny_tokenizer))
    for split in ("train", "test"):
        path = tmp_path / f"{split}.parquet"
        import pandas as pd

        expected = pd.read_parquet(path)
        cfg = OmegaConf.create(
            {
                "prompt_key": "prompt",
                "max_prompt_length": 1_000_000,
                "filter_overlong_prompts": True,
                "filter_overlong_prompts_workers": 1,
                "cache_dir": str(tmp_path / "cache"),
            }
        )
        ds = RLHFDataset(str(path), tok, cfg)
        assert len(ds) == len(expected) > 0  # the overlong filter templated every row and kept it
        for i in range(len(ds)):
            item = ds[i]
            assert item["index"] == i and item["extra_info"]["split"] == split
            assert item["data_source"] == expected.iloc[i]["data_source"]
            ids = tok.apply_chat_template(item["raw_prompt"], add_generation_prompt=True, tokenize=True)
            ids = ids["input_ids"] if hasattr(ids, "keys") else ids
            text = tok.decode(ids)
            assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>assistant\n")
            assert item["raw_prompt"][-1]["content"] in text
            load_ground_truth(item["reward_model"]["ground_truth"])


def test_ground_truth_json_equals_plain_dumps():
    from data_prep.rows import ground_truth, ground_truth_json

    tricky = ToolCall("get_weather", {"city": "\x00tools\x00", "unit": 'say "tools": [1]'})
    for calls in ((ToolCall("get_weather", {"city": "Paris"}),), (tricky,), ()):
        s = Sample("xlam", "1", (Message("user", "q"),), (TOOL,), calls, None if calls else "no")
        assert ground_truth_json(s) == json.dumps(ground_truth(s), ensure_ascii=False)
    tools_named_like_marker = dict(
        TOOL, parameters={"type": "object", "properties": {"tools": {"type": "string"}}, "required": []}
    )
    s = Sample(
        "xlam",
        "2",
        (Message("user", "q"),),
        (tools_named_like_marker,),
        (ToolCall("get_weather", {"tools": "\x00tools\x00"}),),
    )
    assert json.loads(ground_truth_json(s)) == json.loads(json.dumps(ground_truth(s)))
    assert ground_truth_json(s) == json.dumps(ground_truth(s), ensure_ascii=False)


def test_table_builder_matches_row_dicts():
    from data_prep.output import to_tables
    from data_prep.tables import TableBuilder

    samples = [
        Sample(
            "xlam",
            str(i),
            (
                Message("user", f"q{i}"),
                Message("assistant", "", (ToolCall("get_weather", {"city": "X"}),)),
                Message("tool", "{}"),
                Message("user", "again"),
            ),
            (TOOL,),
            (ToolCall("get_weather", {"city": "Paris"}),) if i % 2 else (),
            None if i % 2 else "text",
        )
        for i in range(9)
    ]
    b = TableBuilder("toolrl", "test")
    for i, s in enumerate(samples):
        b.add(s, i / 2)
    rows = [build_row(s, "toolrl", "test", i, i / 2) for i, s in enumerate(samples)]
    assert b.table().equals(to_tables(rows)[0])
