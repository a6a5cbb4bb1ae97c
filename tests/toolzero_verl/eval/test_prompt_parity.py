"""The prompt a training row renders to in verl equals, byte for byte, the one ``toolzero-eval generate`` renders.

For each chat-template family the recipes support (Qwen2.5 Base, Qwen2.5 Instruct, Qwen3 with thinking
on, off and unset), on an offline tiny tokenizer carrying that family's released template
(``tests/fixtures/chat_templates/``, whose README names the model repository each comes from):

- **training**: verl's own path. ``RLHFDataset`` (its length filter applies the chat template with
  ``data.apply_chat_template_kwargs``) reads the parquet ``toolzero-prep`` wrote and yields each row's
  ``raw_prompt``; verl's Continuous Token builder for the family's ``model_type``, built with the same
  keywords as ``AgentLoopWorker`` builds it, turns it into the rollout's prompt token ids
  (``SingleTurnAgentLoop``). The data config is composed by Hydra from the 7B recipe's overrides plus the
  switch a user appends (``+data.apply_chat_template_kwargs.enable_thinking=False``).
- **evaluation**: ``toolzero_verl.eval.generate.prompt_token_ids`` / ``chat_prompts`` with
  ``--chat-template-kwargs``, on the rows as toolzero-eval loads them.

Rows: the bundled examples (single-turn xLAM/Hammer rows and multi-turn ToolACE rows with assistant and
tool turns in their history), plus the same rows without their system message (the families' default
system prompts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from toolzero_verl.eval import generate as gen
from toolzero_verl.eval.cli import main as eval_main
from toolzero_verl.testing.examples import convert_examples, recipe_overrides

pytestmark = pytest.mark.verl

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "tests" / "fixtures" / "chat_templates"


@dataclass(frozen=True)
class Family:
    """A chat-template family: its released template (None: the checkpoint ships none) and its ``config.json``
    ``model_type`` (verl picks its rollout tokenisation by it, ``verl/utils/tokenizer/continuous_token_wiring.py``)."""

    template: str | None
    model_type: str


def _released(name: str) -> str:
    return (TEMPLATES / f"{name}.jinja").read_text(encoding="utf-8")


FAMILIES = {
    "qwen2.5-base": Family(_released("qwen2.5-base"), "qwen2"),
    "qwen2.5-instruct": Family(_released("qwen2.5-instruct"), "qwen2"),
    "qwen3": Family(_released("qwen3"), "qwen3"),
    "no-template": Family(None, "qwen2"),
}
CASES = [
    ("qwen2.5-base", None),
    ("qwen2.5-instruct", None),
    ("qwen3", None),
    ("qwen3", True),
    ("qwen3", False),
]
GENERATION_PROMPT = "<|im_start|>assistant\n"
EMPTY_THINK = "<think>\n\n</think>\n\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The bundled examples through toolzero-prep, plus ``nosystem.parquet``: its rows without the system turn."""
    out = tmp_path_factory.mktemp("parity_data")
    convert_examples(out)
    table = pq.read_table(out / "train.parquet")
    rows = table.to_pylist()
    for r in rows:
        r["prompt"] = [m for m in r["prompt"] if m["role"] != "system"]
        r["extra_info"]["index"] += 10_000
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), out / "nosystem.parquet")
    return out


def load_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()  # what toolzero-eval's --data loader reads


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory, data):
    from toolzero_verl.testing.tiny_tokenizer import build_tiny_tokenizer

    corpus = [m["content"] for r in load_rows(data / "train.parquet") for m in r["prompt"]]
    return {name: build_tiny_tokenizer(tmp_path_factory.mktemp(name), corpus, 1024, family.template)
            for name, family in FAMILIES.items()}


def data_config(data: Path, thinking: bool | None):
    """verl's composed ``data`` config for the 7B recipe on these files, with the user's thinking switch."""
    from toolzero_verl.plugin import preflight

    args = recipe_overrides(REPO / "recipes" / "qwen7b_ggrpo.sh", {"DATA_DIR": str(data)})
    extra = [f"data.train_files=[{data / 'train.parquet'},{data / 'nosystem.parquet'}]", "data.max_prompt_length=16384"]
    if thinking is not None:
        extra.append(f"+data.apply_chat_template_kwargs.enable_thinking={thinking}")
    return preflight.compose(args + extra, validate=False).data


def training_prompts(data_cfg, tokenizer, family: str) -> dict[int, list[int]]:
    """Row index -> prompt token ids, as verl's dataset and agent loop produce them."""
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer.continuous_token_wiring import create_continuous_token_builder

    dataset = RLHFDataset(data_files=list(data_cfg.train_files), tokenizer=tokenizer, config=data_cfg)
    kwargs = data_cfg.get("apply_chat_template_kwargs", {})  # as AgentLoopWorker reads it
    builder = create_continuous_token_builder(tokenizer, hf_model_type=FAMILIES[family].model_type,
                                              chat_template_kwargs=kwargs)
    out = {}
    for i in range(len(dataset)):
        item = dataset[i]
        out[item["extra_info"]["index"]] = builder.build_initial_tokens(list(item["raw_prompt"]))
    return out


@pytest.mark.parametrize(("family", "thinking"), CASES)
def test_training_and_evaluation_render_the_same_prompt(family, thinking, data, tokenizers):
    tok = tokenizers[family]
    rows = load_rows(data / "train.parquet") + load_rows(data / "nosystem.parquet")
    trained = training_prompts(data_config(data, thinking), tok, family)
    assert sorted(trained) == sorted(r["extra_info"]["index"] for r in rows)  # verl filtered no row out
    kwargs = {} if thinking is None else {"enable_thinking": thinking}
    ids = gen.prompt_token_ids(rows, tok, kwargs)
    texts = gen.chat_prompts(rows, tok, kwargs)
    for row, eval_ids, text in zip(rows, ids, texts):
        train_ids = trained[row["extra_info"]["index"]]
        assert eval_ids == train_ids, row["extra_info"]["index"]
        assert text.encode("utf-8") == tok.decode(train_ids, skip_special_tokens=False).encode("utf-8")


@pytest.mark.parametrize(("family", "thinking"), CASES)
def test_each_family_renders_its_documented_behaviour(family, thinking, data, tokenizers):
    tok = tokenizers[family]
    kwargs = {} if thinking is None else {"enable_thinking": thinking}
    with_system = gen.chat_prompts(load_rows(data / "train.parquet"), tok, kwargs)
    without = gen.chat_prompts(load_rows(data / "nosystem.parquet"), tok, kwargs)
    end = GENERATION_PROMPT + (EMPTY_THINK if thinking is False else "")
    assert all(t.endswith(end) for t in with_system + without)
    if thinking is not False:
        assert not any(t.endswith(EMPTY_THINK) for t in with_system)
    defaults = {"qwen2.5-base": "You are a helpful assistant.",
                "qwen2.5-instruct": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."}
    if family in defaults:
        assert all(t.startswith(f"<|im_start|>system\n{defaults[family]}<|im_end|>\n") for t in without)
    else:  # Qwen3 adds no system prompt
        assert all(t.startswith("<|im_start|>user\n") for t in without)
    multi = [t for r, t in zip(load_rows(data / "train.parquet"), with_system)
             if any(m["role"] == "tool" for m in r["prompt"])]
    assert multi and all("<|im_start|>user\n<tool_response>\n" in t for t in multi)


def test_qwen3_drops_thinking_from_history_and_the_switch_reaches_verl(data, tokenizers):
    tok = tokenizers["qwen3"]
    rows = load_rows(data / "train.parquet")
    texts = gen.chat_prompts(rows, tok, {})
    for row, text in zip(rows, texts):
        roles = [m["role"] for m in row["prompt"]]
        last_user = max(i for i, r in enumerate(roles) if r == "user")
        before = [m for m in row["prompt"][:last_user] if m["role"] == "assistant"]
        for m in before:  # ToolACE history turns are "<think></think>\n<answer>[...]</answer>"
            assert "</think>" in m["content"] and m["content"] not in text
            assert m["content"].split("</think>")[-1].lstrip("\n") in text
    on = training_prompts(data_config(data, True), tok, "qwen3")
    off = training_prompts(data_config(data, False), tok, "qwen3")
    suffix = tok(EMPTY_THINK, add_special_tokens=False)["input_ids"]
    assert all(off[i] == on[i] + suffix for i in on)


def test_a_model_without_a_chat_template_fails_clearly(data, tokenizers):
    """toolzero-eval stops with what to do; verl itself would silently drop every row (its length filter
    catches the template error), which is why the preflight refuses such a model (test_preflight.py)."""
    tok = tokenizers["no-template"]
    rows = load_rows(data / "train.parquet")
    with pytest.raises(ValueError, match="no chat template.*--chat-template FILE.*custom_chat_template"):
        gen.prompt_token_ids(rows, tok)
    assert training_prompts(data_config(data, None), tok, "no-template") == {}
    tok.chat_template = FAMILIES["qwen2.5-base"].template  # what --chat-template FILE does
    assert gen.prompt_token_ids(rows[:1], tok) == gen.prompt_token_ids(rows[:1], tokenizers["qwen2.5-base"])


def test_bad_template_options_are_one_line_and_exit_2(data, tmp_path, capsys):
    base = ["generate", "--data", str(data / "test.parquet"), "--model", "m", "--out", str(tmp_path / "g.jsonl")]
    assert eval_main(base + ["--chat-template-kwargs", "enable_thinking=false"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "must be a JSON object" in err
    assert eval_main(base + ["--chat-template", str(tmp_path / "missing.jinja")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--chat-template file not found" in err


def test_the_generation_manifest_records_the_keywords():
    from toolzero_verl.eval import manifest as mf

    m = mf.generation_manifest(sampling={}, engine={}, template="t", model=None, data={}, generations_sha256="x",
                               chat_template_kwargs={"enable_thinking": False})
    assert m["chat_template_kwargs"] == {"enable_thinking": False}
    assert "generation.chat_template_kwargs" in mf.SETTINGS  # compare refuses runs that differ in them
    json.dumps(m)
