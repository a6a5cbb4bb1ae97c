"""The offline tokenizer the demo and the verl tests decode with: exact round trips, tags kept."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from toolzero_verl.testing.tiny_tokenizer import SPECIAL_TOKENS, build_tiny_tokenizer


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok")
    build_tiny_tokenizer(path, ["some extra text to learn merges from"])
    return path


@pytest.mark.parametrize(
    "text",
    [
        "<think>x</think>\n<answer>[f(a=1, b='é'), g(c=[1, 2.5])]</answer>",
        '<tool_call>\n{"name": "Get Manager", "arguments": {"q": "日本語 🙂"}}\n</tool_call>',
        "\x00\t  trailing spaces  \n\n",
    ],
)
def test_decode_after_save_and_reload_is_exact_and_keeps_tags(tok_dir, text):
    tok = AutoTokenizer.from_pretrained(tok_dir)
    ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert tok.decode(ids, skip_special_tokens=True) == text  # verl decodes this way


def test_special_tokens_and_chat_template(tok_dir):
    tok = AutoTokenizer.from_pretrained(tok_dir)
    assert (tok.pad_token, tok.eos_token) == (SPECIAL_TOKENS[0], "<|im_end|>")
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    with_tools = tok.apply_chat_template(messages, tools=[{"name": "f"}], tokenize=False, add_generation_prompt=True)
    assert (
        with_tools
        == '<|im_start|>system\nS\n\n# Tools\n{"name": "f"}\n<|im_end|>\n'
        '<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n'
    )
    plain = tok.apply_chat_template(messages, tokenize=False)
    assert plain == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
