"""Generation helpers: without vLLM (never installed by this project) the message says how to make the
JSONL elsewhere; prompts go through a real transformers chat template; the JSONL written reads back."""

from __future__ import annotations

import json

import pytest

from toolzero_verl.eval import generate as gen
from toolzero_verl.eval.cli import EXIT_NO_GENERATOR, main
from toolzero_verl.eval.generations import read_generations

ROWS = [
    {"prompt": [{"role": "system", "content": "tools"}, {"role": "user", "content": "hi"}], "extra_info": {"index": 7}},
    {"prompt": [{"role": "user", "content": "q"}], "extra_info": {"index": 0, "id": "simple_3"}},
]


def test_vllm_is_absent_here_and_generate_says_what_to_do(tmp_path):
    assert not gen.vllm_available()
    with pytest.raises(gen.GenerationUnavailable) as info:
        gen.generate(ROWS, gen.EngineSettings("ckpt"), gen.SamplingSettings(), tmp_path / "g.jsonl")
    msg = str(info.value)
    for needle in ("vLLM is not importable", "toolzero-eval generate --data", "add_generation_prompt=True",
                   '{"index": <extra_info.index>, "response":', '{"id": "<extra_info.id>", "response":',
                   "toolzero-eval score", "docs/eval.md"):
        assert needle in msg
    assert not (tmp_path / "g.jsonl").exists()


def test_cli_generate_without_vllm_exits_3_with_the_message(tmp_path, capsys):
    from toolzero_verl.eval.bfcl import write_rows

    data = tmp_path / "p.parquet"
    write_rows([{**ROWS[1], "data_source": "bfcl_simple", "ability": "tool_call",
                 "reward_model": {"style": "rule", "ground_truth": '{"calls": []}'},
                 "extra_info": {"split": "test", "index": 0, "id": "simple_3", "category": "simple",
                                "output_format": "answer"}}],
               data)
    code = main(["generate", "--data", str(data), "--model", "ckpt", "--out", str(tmp_path / "g.jsonl")])
    assert code == EXIT_NO_GENERATOR
    assert "vLLM is not importable" in capsys.readouterr().err
    code = main(["score", "--data", str(data), "--generations", str(tmp_path / "g.jsonl"),
                 "--generate", "--model", "m"])
    assert code == EXIT_NO_GENERATOR and "toolzero-eval generate" in capsys.readouterr().err


def test_sampling_defaults_are_greedy():
    s = gen.SamplingSettings()
    assert s.temperature == 0.0 and s.n == 1


@pytest.mark.verl
def test_chat_prompts_use_the_tokenizer_chat_template():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")),
                                  unk_token="[UNK]")
    with pytest.raises(ValueError, match="no chat template"):
        gen.chat_prompts(ROWS, tok)
    tok.chat_template = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                         "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    assert gen.chat_prompts(ROWS[:1], tok) == [
        "<|im_start|>system\ntools<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    ]


def test_written_generations_read_back_with_their_keys(tmp_path):
    path = tmp_path / "g.jsonl"
    gen.write_generations(ROWS, [["a", "b"], ['c "quoted"\n']], path)
    items = read_generations(path).items
    assert [(g.key, g.response) for g in items] == [
        (("index", 7), "a"), (("index", 7), "b"), (("id", "simple_3"), 'c "quoted"\n'),
    ]
    with pytest.raises(ValueError):
        gen.write_generations(ROWS, [["a"]], path)


@pytest.mark.verl
def test_generate_renders_prompts_to_the_tokens_verls_rollout_builds(shared_dir, tmp_path):
    """The prompt `generate` sends to vLLM is token for token the one verl's agent loop builds for a
    rollout of the same row (verl's Continuous Token builder, as SingleTurnAgentLoop calls it)."""
    from verl.utils.tokenizer.continuous_token_wiring import create_continuous_token_builder

    from toolzero_verl.eval.bfcl import build_rows, load_bfcl
    from toolzero_verl.testing.tiny_tokenizer import build_tiny_tokenizer

    tok = build_tiny_tokenizer(tmp_path / "tok")
    rows = build_rows(load_bfcl(shared_dir / "bfcl" / "v3", ["parallel"]).entries[:5], "hermes")
    builder = create_continuous_token_builder(tok, hf_model_type="qwen2")
    ours = [tok(text, add_special_tokens=False)["input_ids"] for text in gen.chat_prompts(rows, tok)]
    verls = [builder.build_initial_tokens([dict(m) for m in row["prompt"]]) for row in rows]
    assert ours == verls and all(len(ids) > 100 for ids in ours)


def test_saved_prompts_go_on_every_line_of_their_row_and_are_ignored_when_read(tmp_path):
    path = tmp_path / "g.jsonl"
    seen = [{"prompt": "P7", "prompt_token_ids": [5, 6]}, {"prompt": "P0", "prompt_token_ids": [9]}]
    gen.write_generations(ROWS, [["a", "b"], ["c"]], path, seen)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line.get("index", line.get("id")), line["prompt"], line["prompt_token_ids"]) for line in lines] == [
        (7, "P7", [5, 6]), (7, "P7", [5, 6]), ("simple_3", "P0", [9]),
    ]
    assert [(g.key, g.response) for g in read_generations(path).items] == [
        (("index", 7), "a"), (("index", 7), "b"), (("id", "simple_3"), "c"),
    ]
    with pytest.raises(ValueError, match="1 prompts"):
        gen.write_generations(ROWS, [["a"], ["c"]], path, seen[:1])


def test_enforce_eager_and_save_prompts_are_off_unless_asked():
    from toolzero_verl.eval.cli import _settings, build_parser

    base = ["generate", "--data", "d.parquet", "--model", "m", "--out", "g.jsonl"]
    default = build_parser().parse_args(base)
    asked = build_parser().parse_args([*base, "--enforce-eager", "--save-prompts"])
    assert not _settings(default)[0].enforce_eager and not default.save_prompts
    assert _settings(asked)[0].enforce_eager and asked.save_prompts
