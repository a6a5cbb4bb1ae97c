"""The ``toolzero_agent`` loop inside verl 0.9.1: registry, token stream, loss mask, limits, the reward's record.

The loop is built the way verl's ``AgentLoopWorker._run_agent_loop`` builds it (``hydra.utils.instantiate``
on the registry entry, with verl's real ``ppo_trainer`` config, ``DictConfigWrap``/``ToolListWrap`` and
the real tiny tokenizer, so verl's own Continuous Token builder merges the turns). Only the LLM server is
scripted: :class:`ScriptedServer` answers each ``generate`` with the next scripted turn's token ids (cut
at ``max_tokens``, as vLLM does), so the tests know which tokens the policy produced and can check the
mask token by token.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import RECORD_KEY, gold_turn, load_episode
from toolzero_verl.core.formats import get_format
from toolzero_verl.rewards.scoring import compute_score
from toolzero_verl.testing.masks import mask_runs

from .conftest import compose_ppo_config

WEATHER = {"name": "w", "description": "weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
RESULT = '{"name": "w", "results": {"temp": 21}}'
EPISODE_GT = {"episode": {"executor": "replay", "segments": [
    {"user": None, "steps": [{"calls": [{"name": "w", "arguments": {"city": "Paris"}}], "results": [RESULT]}],
     "answer": "It is 21 degrees."},
    {"user": "And tomorrow?", "steps": [], "answer": "Sunny."}]}, "tools": [WEATHER]}
PROMPT = [{"role": "system", "content": "You call tools."}, {"role": "user", "content": "Weather in Paris?"}]
H = get_format("hermes")
CALL = H.render([ToolCall("w", {"city": "Paris"})], think="")
GOLD_TURNS = [CALL, "It is 21 degrees.", "Sunny."]


class ScriptedServer:
    """Stands in for verl's ``LLMServerClient``: each ``generate`` returns the next scripted turn (the last
    one again when the script is spent) as token ids ending in the end-of-turn token, cut at ``max_tokens``."""

    def __init__(self, tokenizer, turns):
        self.tok, self.turns = tokenizer, list(turns)
        self.calls: list[dict] = []  # prompt_ids and sampling params of every request
        self.outputs: list[list[int]] = []

    async def generate(self, request_id, prompt_ids, sampling_params, **kwargs):
        from verl.workers.rollout.replica import TokenOutput

        text = self.turns[min(len(self.calls), len(self.turns) - 1)]
        ids = self.tok.encode(text, add_special_tokens=False) + [self.tok.convert_tokens_to_ids("<|im_end|>")]
        ids = ids[: sampling_params.get("max_tokens", len(ids))]
        self.calls.append({"request_id": request_id, "prompt_ids": list(prompt_ids), "params": dict(sampling_params)})
        self.outputs.append(ids)
        return TokenOutput(token_ids=ids, log_probs=[-0.5] * len(ids), extra_fields={"max_global_steps": 7})


def make_loop(tokenizer, tokenizer_dir, server, *overrides):
    """Our loop as verl's AgentLoopWorker instantiates it from the registry."""
    import hydra
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap, ToolListWrap, _agent_loop_registry
    from verl.utils.dataset.rl_dataset import RLHFDataset

    cfg = compose_ppo_config([f"actor_rollout_ref.model.path={tokenizer_dir}", "data.max_prompt_length=4096",
                              "data.max_response_length=2048", *overrides])
    return hydra.utils.instantiate(
        _agent_loop_registry["toolzero_agent"], trainer_config=DictConfigWrap(cfg), server_manager=server,
        tokenizer=tokenizer, processor=None, hf_model_type="qwen2", dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(cfg.data), tools=ToolListWrap([]))


def run_episode(tokenizer, tokenizer_dir, turns, gt=EPISODE_GT, prompt=PROMPT, fmt="hermes", overrides=()):
    server = ScriptedServer(tokenizer, turns)
    gt_text = gt if isinstance(gt, str) else json.dumps(gt)

    async def go():  # built inside the running event loop, as in verl's worker (the loop keeps a handle on it)
        loop = make_loop(tokenizer, tokenizer_dir, server, *overrides)
        return await loop.run({"temperature": 1.0, "logprobs": True}, raw_prompt=prompt,
                              reward_model={"style": "rule", "ground_truth": gt_text},
                              extra_info={"split": "train", "output_format": fmt}, session_id=0)

    return asyncio.run(go()), server


def test_registered_under_its_name_next_to_verls_loops():
    from verl.experimental.agent_loop.agent_loop import _agent_loop_registry

    from toolzero_verl.plugin.agent_loop import AGENT_NAME, ToolZeroAgentLoop, register_agent_loop

    assert AGENT_NAME == "toolzero_agent"
    assert _agent_loop_registry[AGENT_NAME] == {"_target_": "toolzero_verl.plugin.agent_loop.ToolZeroAgentLoop"}
    # verl's own loops (the single-turn default every row without agent_name runs) are untouched
    assert _agent_loop_registry["single_turn_agent"]["_target_"].endswith("SingleTurnAgentLoop")
    assert _agent_loop_registry["tool_agent"]["_target_"].endswith("ToolAgentLoop")
    assert register_agent_loop() and ToolZeroAgentLoop.__name__ in _agent_loop_registry[AGENT_NAME]["_target_"]


def test_a_foreign_loop_under_our_name_is_kept(caplog):
    from verl.experimental.agent_loop.agent_loop import _agent_loop_registry

    from toolzero_verl.plugin.agent_loop import AGENT_NAME, register_agent_loop

    saved = _agent_loop_registry[AGENT_NAME]
    try:
        _agent_loop_registry[AGENT_NAME] = {"_target_": "someone.else.Loop"}
        assert register_agent_loop() is False
        assert _agent_loop_registry[AGENT_NAME] == {"_target_": "someone.else.Loop"}
        assert "already taken" in caplog.text
    finally:
        _agent_loop_registry[AGENT_NAME] = saved


def test_a_fresh_import_verl_registers_the_loop_where_verls_worker_looks():
    """Discovery through the ``verl.plugins`` entry point: nothing but ``import verl`` and verl's own import of
    its agent-loop module (what every AgentLoopWorker actor does) puts the loop in the registry."""
    probe = ("import json, verl\n"
             "from verl.experimental.agent_loop.agent_loop import _agent_loop_registry as r\n"
             "print('FACTS' + json.dumps({k: v['_target_'] for k, v in r.items()}))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("VERL_USE_EXTERNAL_MODULES", "VERL_USE_EXTERNAL_PLUGINS")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    facts = json.loads(out.stdout.split("FACTS", 1)[1])
    assert facts["toolzero_agent"] == "toolzero_verl.plugin.agent_loop.ToolZeroAgentLoop"
    assert {"single_turn_agent", "tool_agent"} <= set(facts)


def test_episode_tokens_mask_and_turns(tiny_tokenizer, tiny_tokenizer_dir):
    out, server = run_episode(tiny_tokenizer, tiny_tokenizer_dir, GOLD_TURNS)
    tok = tiny_tokenizer
    n = len(out.response_ids)
    assert len(out.response_mask) == len(out.response_logprobs) == n
    # the policy's three turns are exactly the mask-1 runs, in order, token for token
    ones = [(s, e) for v, s, e in mask_runs(out.response_mask) if v == 1]
    assert [out.response_ids[s:e] for s, e in ones] == server.outputs
    assert all(out.response_logprobs[i] == -0.5 for s, e in ones for i in range(s, e))
    zeros = [tok.decode(out.response_ids[s:e]) for v, s, e in mask_runs(out.response_mask) if v == 0]
    # between them: the executed call's recorded result as a tool turn, then the replayed user request;
    # none of it is trained on (mask 0, log-prob 0)
    assert len(zeros) == 2
    assert "<|im_start|>tool\n" in zeros[0] and json.loads(zeros[0].split("tool\n", 1)[1].split("<|im_end|>")[0]) == [
        json.loads(RESULT)]
    assert "<|im_start|>user\nAnd tomorrow?<|im_end|>" in zeros[1]
    assert all(lp == 0.0 for v, s, e in mask_runs(out.response_mask) if v == 0 for lp in out.response_logprobs[s:e])
    # the prompt is the row's chat, and each request carries everything so far (one request id)
    assert tok.decode(out.prompt_ids) == tok.apply_chat_template(PROMPT, tokenize=False, add_generation_prompt=True)
    assert server.calls[1]["prompt_ids"] == list(out.prompt_ids) + list(out.response_ids[: ones[1][0]])
    assert len({c["request_id"] for c in server.calls}) == 1
    # 1 prompt + 3 assistant turns + 1 tool turn + 1 user turn
    assert out.num_turns == 6
    record = out.extra_fields[RECORD_KEY]
    assert record == {"turns": GOLD_TURNS, "calls": 1, "errors": 0, "tool_turns": 1, "user_turns": 1,
                      "stop": "answered"}
    assert out.extra_fields["max_global_steps"] == 7  # the server's stamp reaches the reward manager
    assert out.metrics.generate_sequences >= 0 and out.metrics.tool_calls >= 0


def test_each_turn_gets_what_is_left_of_the_response_budget(tiny_tokenizer, tiny_tokenizer_dir):
    out, server = run_episode(tiny_tokenizer, tiny_tokenizer_dir, GOLD_TURNS,
                              overrides=["data.max_response_length=60"])
    budgets = [c["params"]["max_tokens"] for c in server.calls]
    assert budgets[0] == 60 and all(a > b for a, b in zip(budgets, budgets[1:]))
    assert len(out.response_ids) <= 60 and len(out.response_mask) == len(out.response_ids)
    assert out.extra_fields[RECORD_KEY]["stop"] == "response_length"


def test_turn_limit_ends_a_looping_policy_and_the_reward_sees_it_truncated(tiny_tokenizer, tiny_tokenizer_dir):
    out, server = run_episode(tiny_tokenizer, tiny_tokenizer_dir, [CALL],  # calls again and again
                              overrides=["actor_rollout_ref.rollout.multi_turn.max_assistant_turns=3"])
    record = out.extra_fields[RECORD_KEY]
    assert len(server.calls) == 3 and record["stop"] == "turn_limit"
    # the last allowed turn's call is not run: no tool turn follows it, and the record says so
    assert (record["calls"], record["tool_turns"]) == (2, 2)
    assert sum(v == 1 for v, _, _ in mask_runs(out.response_mask)) == 3
    info = {"split": "train", "global_steps": 1, **out.extra_fields}
    r = compute_score("d", "", json.dumps(EPISODE_GT), info, reward="gg_grpo_episode", output_format="hermes")
    assert r["truncated"] == 1.0 and r["tool_calls"] == 2 and r["n_turns"] == 3 and r["ast"] == 0.0


def test_user_turn_limit(tiny_tokenizer, tiny_tokenizer_dir):
    out, server = run_episode(tiny_tokenizer, tiny_tokenizer_dir, GOLD_TURNS,
                              overrides=["actor_rollout_ref.rollout.multi_turn.max_user_turns=0"])
    # 0 means no limit in verl; one replayed request is allowed with 1
    assert out.extra_fields[RECORD_KEY]["stop"] == "answered"
    out, server = run_episode(tiny_tokenizer, tiny_tokenizer_dir, GOLD_TURNS,
                              overrides=["+actor_rollout_ref.rollout.multi_turn.max_user_turns=1"])
    assert out.extra_fields[RECORD_KEY]["user_turns"] == 1


def test_hostile_turns_get_error_tool_turns_and_never_raise(tiny_tokenizer, tiny_tokenizer_dir):
    turns = ['<tool_call>{"name": "w", "arguments": {"city": </tool_call>',  # broken JSON
             '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>',  # unknown function
             "<tool_call>" + "[" * 300 + "</tool_call>", CALL, "It is 21 degrees.", "Sunny."]
    out, server = run_episode(tiny_tokenizer, tiny_tokenizer_dir, turns)
    tool_turns = [tiny_tokenizer.decode(out.response_ids[s:e]) for v, s, e in mask_runs(out.response_mask) if v == 0]
    assert "bad_call_syntax" in tool_turns[0] and "rm_rf" in tool_turns[1] and "bad_call_syntax" in tool_turns[2]
    assert '"temp": 21' in tool_turns[3]
    record = out.extra_fields[RECORD_KEY]
    assert record["stop"] == "answered" and record["errors"] == 3 and record["tool_turns"] == 4


def test_the_episode_reward_reads_the_loops_record(tiny_tokenizer, tiny_tokenizer_dir):
    """The gold trajectory scores the maximum; a policy that answers without calling scores less."""
    gold, _ = run_episode(tiny_tokenizer, tiny_tokenizer_dir, GOLD_TURNS)
    lazy, _ = run_episode(tiny_tokenizer, tiny_tokenizer_dir, ["No idea."])
    scores = {}
    for name, out in (("gold", gold), ("lazy", lazy)):
        info = {"split": "test", **out.extra_fields}
        scores[name] = compute_score("d", "", json.dumps(EPISODE_GT), info, reward="gg_grpo_episode",
                                     output_format="hermes")
    assert scores["gold"]["ast"] == 1.0 and scores["gold"]["score"] == 2.0 and scores["gold"]["tool_turns"] == 1
    assert scores["lazy"]["ast"] == 0.0 and scores["lazy"]["score"] < scores["gold"]["score"]
    # answering without a call ends each request: two turns, the second request replayed, nothing executed
    assert scores["lazy"]["n_turns"] == 2 and scores["lazy"]["user_turns"] == 1 and scores["lazy"]["tool_calls"] == 0


def test_the_reward_manager_scores_the_loops_output(recipe_config_factory, tiny_tokenizer, tiny_tokenizer_dir):
    """Through verl's RewardLoopWorker and our manager: the loop's extra_fields arrive as tool_extra_fields."""
    from .conftest import make_batch
    from .test_reward_manager import score_with_worker

    gold, _ = run_episode(tiny_tokenizer, tiny_tokenizer_dir, GOLD_TURNS)
    cfg = recipe_config_factory(["++reward.custom_reward_function.reward_kwargs.reward=gg_grpo_episode",
                                 "++reward.custom_reward_function.reward_kwargs.output_format=hermes"])
    assert cfg.reward.custom_reward_function.reward_kwargs.reward == "gg_grpo_episode"
    batch = make_batch(tiny_tokenizer, [{"response": "Sunny.", "ground_truth": EPISODE_GT, "step": 3, "split": "test",
                                         "tool_extra_fields": gold.extra_fields}])
    (info,) = score_with_worker(cfg, batch)
    extra = info["reward_extra_info"]
    assert extra["ast"] == 1.0 and extra["tool_calls"] == 1 and extra["tool_turns"] == 1 and extra["n_turns"] == 3


def test_real_toolace_dialogues_run_through_verls_token_stream(toolace_episode_rows, tiny_tokenizer,
                                                               tiny_tokenizer_dir):
    """Driven by their gold turns, real ToolACE dialogues run to the end inside the loop: every recorded result
    reaches the policy as a tool turn (mask 0), every later request as a user turn, and the reward scores the
    trajectory exact."""
    fmt = get_format("hermes")
    rows = [r for r in toolace_episode_rows("hermes") if r["data_source"] == "toolace"][:6]
    assert rows
    for row in rows:
        ep = load_episode(row["reward_model"]["ground_truth"])
        turns = [gold_turn(ep, point, fmt, think="") for point in ep.points]
        out, server = run_episode(tiny_tokenizer, tiny_tokenizer_dir, turns, gt=row["reward_model"]["ground_truth"],
                                  prompt=list(row["prompt"]), overrides=[
            "data.max_response_length=32768",  # the tiny tokenizer spends a token per 2-3 characters of a result
            "actor_rollout_ref.rollout.multi_turn.max_tool_response_length=100000",  # verl's default cuts at 256
            "actor_rollout_ref.rollout.multi_turn.max_parallel_calls=8"])  # verl's default runs 1 call per turn
        record = out.extra_fields[RECORD_KEY]
        assert record["stop"] == "answered" and record["turns"] == turns, row["extra_info"]["source_id"]
        assert record["calls"] == ep.n_gold_calls and record["errors"] == 0
        assert record["user_turns"] == len(ep.segments) - 1
        context = "".join(tiny_tokenizer.decode(out.response_ids[s:e]) for v, s, e in mask_runs(out.response_mask)
                          if v == 0)
        for seg in ep.segments:
            for step in seg.steps:
                for result in step.results:
                    if result is not None:
                        assert json.dumps(json.loads(result), ensure_ascii=False) in context
            if seg.user:
                assert seg.user in context
        info = {"split": "test", **out.extra_fields}
        r = compute_score("d", "", row["reward_model"]["ground_truth"], info, reward="gg_grpo_episode",
                          output_format="hermes")
        assert r["ast"] == 1.0 and r["tool_calls"] == ep.n_gold_calls, row["extra_info"]["source_id"]
