"""Fixtures for the data_prep tests: real corpus samples (in the corpora's raw formats), the bundled
examples, a tiny offline tokenizer with a chat template, and the golden-property check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolzero_verl import compute_score
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import FORMATS, get_format
from toolzero_verl.core.ground_truth import load_ground_truth
from toolzero_verl.core.pycalls import render_python_calls

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "data"
EXAMPLE_FILES = {
    "toolace": EXAMPLES / "toolace_data.json",
    "xlam": EXAMPLES / "xlam_function_calling_60k.json",
    "hammer": EXAMPLES / "xlam-7.5k-irrelevancek.json",
    "toolrl": EXAMPLES / "rlla_rl.json",
}


@pytest.fixture(scope="session")
def corpora(shared_dir: Path) -> Path:
    return shared_dir / "corpora"


def derived_toolace_to_raw(derived: list[dict]) -> list[dict]:
    """zaego123's ShareGPT copy of ToolACE -> ToolACE's raw shape. System/user/tool/text turns are
    verbatim; its (lossy) function_call JSON is rendered back into ToolACE's Python-call syntax."""
    roles = {"human": "user", "gpt": "assistant", "observation": "tool", "function_call": "assistant"}
    out = []
    for rec in derived:
        conv = []
        for turn in rec["conversations"]:
            value = turn["value"]
            if turn["from"] == "function_call":
                obj = json.loads(value)
                calls = [ToolCall.from_dict(c) for c in (obj if isinstance(obj, list) else [obj])]
                value = render_python_calls(calls)
            conv.append({"from": roles[turn["from"]], "value": value})
        out.append({"system": rec["system"], "conversations": conv})
    return out


def hammer_sft_to_raw(rows: list[dict]) -> list[dict]:
    """Hammer's alpaca SFT example rows -> the raw xLAM-schema shape of the irrelevance file
    (query, tools and answers as JSON strings, no id)."""
    out = []
    for r in rows:
        ins = r["instruction"]
        tools = ins.split("[BEGIN OF AVAILABLE TOOLS]\n", 1)[1].split("\n[END OF AVAILABLE TOOLS]", 1)[0]
        query = ins.split("[BEGIN OF QUERY]\n", 1)[1].split("\n[END OF QUERY]", 1)[0]
        answers = r["output"].strip().strip("`").strip()
        out.append({"query": query, "tools": json.dumps(json.loads(tools)), "answers": json.dumps(json.loads(answers))})
    return out


@pytest.fixture(scope="session")
def real_inputs(corpora: Path, tmp_path_factory) -> dict[str, Path]:
    """Every real sample in a raw input format the CLI accepts."""
    d = tmp_path_factory.mktemp("real_inputs")
    derived = json.loads((corpora / "toolace" / "zaego123_sharegpt_func_fixed_DERIVED.json").read_text())
    exact = json.loads((corpora / "toolace" / "toolace_sample.json").read_text())
    toolace = d / "toolace_data.json"
    toolace.write_text(json.dumps(exact + derived_toolace_to_raw(derived)))
    hammer = d / "hammer_raw.json"
    hammer.write_text(
        json.dumps(hammer_sft_to_raw(json.loads((corpora / "hammer" / "masking_sft_data_example.json").read_text())))
    )
    return {
        "toolace": toolace,
        "xlam": corpora / "xlam" / "xlam_sample.json",
        "hammer": hammer,
        "toolrl": corpora / "toolrl" / "rlla_rl_test80.json",
    }


def golden_failures(row: dict) -> list:
    """Render the row's own ground truth in every output format; every reward must give its maximum:
    gg_grpo strict part (ast == 1), toolrl (format 1 and the maximum correctness: 3 with calls, 0
    for a reference without calls as in ToolRL), binary (1)."""
    gt_text = row["reward_model"]["ground_truth"]
    gt = load_ground_truth(gt_text)
    extra = dict(row["extra_info"], global_steps=0)
    bad = []
    for fmt in FORMATS:
        response = get_format(fmt).render(gt.calls, gt.answer, think="Let me check the tools.")
        gg = compute_score(row["data_source"], response, gt_text, extra, output_format=fmt)
        rl = compute_score(row["data_source"], response, gt_text, extra, reward="toolrl", output_format=fmt)
        bi = compute_score(row["data_source"], response, gt_text, extra, reward="binary", output_format=fmt)
        best_correctness = 3.0 if gt.calls else 0.0
        if gg["ast"] != 1.0 or gg["format"] != 1.0:
            bad.append((fmt, "gg_grpo", gg))
        if rl["format"] != 1.0 or rl["correctness"] != best_correctness:
            bad.append((fmt, "toolrl", rl))
        if bi["score"] != 1.0:
            bad.append((fmt, "binary", bi))
    return bad


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory):
    """A tiny offline BPE tokenizer with a chat template (verl's RLHFDataset and --max-prompt-tokens apply it)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        ["Call the function get_weather with city Paris and answer the user ."] * 50,
        trainer=trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<pad>", "<eos>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    hf.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    path = tmp_path_factory.mktemp("tiny_tok")
    hf.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def real_samples(real_inputs) -> list:
    """Every valid sample converted from the real corpus samples (all four corpora), for the data
    augmentation tests (data_prep.augmentations: masking / irrelevance / multi_turn / apply)."""
    from data_prep.convert import Settings, convert_one
    from data_prep.reader import iter_json_array

    out = []
    for source, path in real_inputs.items():
        for i, rec in enumerate(iter_json_array(path)):
            _, checked = convert_one(source, rec, i, Settings())
            out.extend(c.sample for c in checked if c.sample is not None)
    return out


@pytest.fixture(scope="session")
def example_samples() -> list:
    """Every valid sample converted from the bundled examples."""
    from data_prep.convert import Settings, convert_one
    from data_prep.reader import iter_json_array

    out = []
    for source, path in EXAMPLE_FILES.items():
        for i, rec in enumerate(iter_json_array(path)):
            _, checked = convert_one(source, rec, i, Settings())
            out.extend(c.sample for c in checked if c.sample is not None)
    return out


def sample_golden_failures(sample) -> list:
    """The golden property of one :class:`data_prep.sample.Sample` (its row, built as the pipeline does)."""
    from data_prep.rows import build_row

    return golden_failures(build_row(sample, "answer"))
