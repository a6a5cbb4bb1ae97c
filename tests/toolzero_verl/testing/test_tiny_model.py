"""The CPU tier's tiny model: built from converted example rows, warm-started, deterministic."""

from __future__ import annotations

import json

import pytest

from toolzero_verl.core.formats import get_format
from toolzero_verl.core.ground_truth import load_ground_truth
from toolzero_verl.testing import tiny_model
from toolzero_verl.testing.examples import EXAMPLES, convert_examples


@pytest.fixture(scope="module")
def example_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    convert_examples(out)
    return [out / "train.parquet", out / "test.parquet"]


def test_reference_answers_are_the_rows_ground_truth_in_the_format(example_rows):
    pairs = tiny_model.reference_pairs(example_rows)
    assert len(pairs) > 30
    for pair in pairs:
        gt = load_ground_truth(pair.ground_truth)
        assert pair.answer == get_format("answer").render(gt.calls, gt.answer, think=tiny_model.THINK)


def test_episode_rows_warm_start_on_their_first_gold_turn(tmp_path):
    """MULTITURN=1 recipes/cpu_tiny.sh warm-starts on episode rows: each prompt's answer is the turn the
    episode's first point asks for, and the session executes it without an error."""
    from toolzero_verl.core.episode import gold_turn, load_episode
    from toolzero_verl.tools.session import EpisodeSession

    convert_examples(tmp_path, EXAMPLES, "--agent-loop")
    pairs = tiny_model.reference_pairs([tmp_path / "train.parquet"])
    assert len(pairs) > 15
    fmt = get_format("answer")
    for pair in pairs:
        ep = load_episode(pair.ground_truth)
        assert pair.answer == gold_turn(ep, ep.points[0], fmt, think=tiny_model.THINK)
        session = EpisodeSession(ep, "answer")
        session.respond(pair.answer)
        assert session.errors == 0 and session.calls == len(ep.reference(ep.points[0]).calls)


def test_build_is_deterministic_and_the_warm_start_lowers_the_loss(example_rows, tmp_path):
    infos = [tiny_model.build(example_rows, tmp_path / name, steps=4) for name in ("a", "b")]
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    info = json.loads((a / "warm_start.json").read_text())
    assert info["losses"] == infos[0]["losses"] == infos[1]["losses"] and len(info["losses"]) == 4
    assert info["losses"][-1] < info["losses"][0]
    assert info["answer_tokens_max"] <= 128  # the recipe's max_response_length
    config = json.loads((a / "config.json").read_text())
    assert config["model_type"] == "qwen2" and config["vocab_size"] == info["vocab"]


def test_example_prompts_fit_the_recipes_prompt_length(example_rows, tmp_path):
    pairs = tiny_model.reference_pairs(example_rows)
    tokenizer = tiny_model.build_tokenizer(tmp_path, pairs)
    rows = tiny_model.encode_pairs(tokenizer, pairs)
    prompt_lengths = [sum(label == -100 for label in labels) for _, labels in rows]
    assert max(prompt_lengths) <= 1024  # recipes/cpu_tiny.sh MAX_PROMPT_LENGTH
