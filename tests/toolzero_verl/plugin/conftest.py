"""Fixtures for the verl-facing tests: a tiny offline tokenizer, verl's real Hydra config, batches.

Everything here is verl 0.9.1's own machinery on CPU: ``ppo_trainer`` composed with Hydra,
``DataProto`` built like the agent loop's reward input (left-padded prompts from a real chat
template, right-padded responses, one attention mask over both).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import pytest

# The reward overrides the recipes pass (recipes/qwen7b_ggrpo.sh, REWARD_ARGS with the defaults
# REWARD=gg_grpo, OUTPUT_FORMAT=answer, SCHEDULE=sigmoid, KAPPA=0.1, MIDPOINT=25).
RECIPE_REWARD_OVERRIDES = (
    "reward.reward_manager.name=toolzero",
    "+reward.custom_reward_function.reward_kwargs.reward=gg_grpo",
    "+reward.custom_reward_function.reward_kwargs.output_format=answer",
    "+reward.custom_reward_function.reward_kwargs.schedule=sigmoid",
    "+reward.custom_reward_function.reward_kwargs.kappa=0.1",
    "+reward.custom_reward_function.reward_kwargs.midpoint=25",
    "+reward.custom_reward_function.reward_kwargs.total_training_steps=${trainer.total_training_steps}",
)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_GT = {"calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}], "tools": [WEATHER_TOOL]}


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> str:
    """Directory of a byte-level BPE tokenizer trained offline; doubles as ``actor_rollout_ref.model.path``."""
    from toolzero_verl.testing.tiny_tokenizer import build_tiny_tokenizer

    path = tmp_path_factory.mktemp("tiny_tok")
    build_tiny_tokenizer(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_tokenizer_dir)


def compose_ppo_config(overrides: Sequence[str]):
    """verl's ``ppo_trainer`` config composed by Hydra with ``overrides`` (unresolved, as the trainer gets it)."""
    from toolzero_verl.plugin.preflight import compose

    return compose(overrides, resolve=False)


@pytest.fixture(scope="session")
def recipe_config_factory(tiny_tokenizer_dir):
    """``make(extra_overrides, reward=True)`` -> composed config pointing at the tiny tokenizer."""

    def make(extra: Iterable[str] = (), reward: bool = True, total_steps: int | None = 100):
        overrides = [f"actor_rollout_ref.model.path={tiny_tokenizer_dir}", "reward.num_workers=1"]
        if total_steps is not None:
            overrides.append(f"trainer.total_training_steps={total_steps}")
        if reward:
            overrides += RECIPE_REWARD_OVERRIDES
        return compose_ppo_config(overrides + list(extra))

    return make


def answer_response(city: str) -> str:
    """A response in the default ``answer`` format calling get_weather."""
    return f'<think>The user wants the weather.</think><answer>[get_weather(city="{city}")]</answer>'


def make_batch(
    tok,
    rows: Sequence[Mapping[str, Any]],
    *,
    prompt_len: int = 48,
    response_len: int = 64,
    with_step: bool = True,
):
    """A reward-input ``DataProto`` with one entry per row.

    Row keys: ``response`` (text, or ``None`` for a response of only padding), ``ground_truth``
    (dict/str; ``None`` leaves out ``reward_model``), ``step`` (v1 ``global_steps``), ``split``,
    ``tool_extra_fields`` (dict), ``uid``.
    """
    import json

    import numpy as np
    import torch
    from verl import DataProto

    pad = tok.pad_token_id
    prompt_ids, prompt_mask, resp_ids, resp_mask = [], [], [], []
    for row in rows:
        messages = [{"role": "user", "content": "What is the weather in Paris?"}]
        ids = tok.apply_chat_template(messages, tools=[WEATHER_TOOL], add_generation_prompt=True, tokenize=True)
        ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)[-prompt_len:]
        prompt_ids.append([pad] * (prompt_len - len(ids)) + ids)
        prompt_mask.append([0] * (prompt_len - len(ids)) + [1] * len(ids))
        text = row.get("response")
        r = [] if text is None else tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        assert len(r) <= response_len, "response longer than the test batch allows"
        resp_ids.append(r + [pad] * (response_len - len(r)))
        resp_mask.append([1] * len(r) + [0] * (response_len - len(r)))
    prompts, responses = torch.tensor(prompt_ids), torch.tensor(resp_ids)
    non_tensors: dict[str, Any] = {
        "data_source": np.array(["toolzero_test"] * len(rows), dtype=object),
        "uid": np.array([row.get("uid", f"uid-{i}") for i, row in enumerate(rows)], dtype=object),
        "extra_info": np.array(
            [{"index": i, "split": row.get("split", "train")} for i, row in enumerate(rows)], dtype=object
        ),
    }
    if any("ground_truth" in row for row in rows):
        gts = [row.get("ground_truth") for row in rows]
        non_tensors["reward_model"] = np.array(
            [
                {"style": "rule", "ground_truth": gt if gt is None or isinstance(gt, str) else json.dumps(gt)}
                for gt in gts
            ],
            dtype=object,
        )
    if with_step:
        non_tensors["global_steps"] = np.array([row["step"] for row in rows])
    if any("tool_extra_fields" in row for row in rows):
        non_tensors["tool_extra_fields"] = np.array([row.get("tool_extra_fields", {}) for row in rows], dtype=object)
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "input_ids": torch.cat([prompts, responses], 1),
            "attention_mask": torch.cat([torch.tensor(prompt_mask), torch.tensor(resp_mask)], 1),
        },
        non_tensors=non_tensors,
    )
