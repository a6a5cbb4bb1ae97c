"""The ``toolzero_agent`` agent loop: multi-turn episodes in verl with executed tool calls (docs/multiturn.md).

verl 0.9 runs each row in the agent loop its ``agent_name`` column names (verl's
``experimental/agent_loop/agent_loop.py``: ``register`` and ``AgentLoopWorker._run_agent_loop``);
rows without the column keep ``actor_rollout_ref.rollout.agent.default_agent_loop`` (single-turn), so
single-turn rows are unaffected. ``toolzero-prep --agent-loop`` writes ``agent_name=toolzero_agent``.
verl's own ``ToolAgentLoop`` assumes one global tool set; here every row brings its own tools, recorded
results and user turns in its episode ground truth (:mod:`toolzero_verl.core.episode`).

One episode (the state machine is :class:`toolzero_verl.tools.session.EpisodeSession`, verl-free):

1. the row's prompt is tokenized with verl's continuous-token builder (``ct_build_initial_tokens``);
2. the policy generates a turn through verl's LLM server; its tokens are merged with
   ``ct_merge_assistant_token`` (mask 1: trained on);
3. the decoded turn goes to the session, which parses it with the row's output format, executes the
   calls with the row's executor and returns a tool turn, or the next user turn, or ends the episode;
4. those messages are merged with ``ct_merge_context_msg`` (mask 0: tool results and user turns are not
   the policy's tokens and carry no loss, as in verl's ``ToolAgentLoop``); back to 2.

It stops when the last request is answered, at ``multi_turn.max_assistant_turns`` /
``max_user_turns``, or when the response budget (``rollout.response_length``) is spent. The session's
record (the turns' texts and counts) goes into ``extra_fields``, which verl hands to the reward as
``extra_info`` (the ``toolzero`` reward manager and verl's ``naive`` one both merge it), where the episode
reward (``reward=gg_grpo_episode``) reads it.

Settings: verl's ``multi_turn.max_assistant_turns``, ``max_user_turns``, ``max_parallel_calls`` (calls
executed per turn), ``max_tool_response_length`` (characters per call result) and
``tool_response_truncate_side``; ours under ``+actor_rollout_ref.rollout.custom.toolzero.*``
(:class:`toolzero_verl.tools.session.AgentLoopOptions`).

Tool schemas are not passed to the chat template (``tools=``) by default: the row's system prompt
already lists them, in the text single-turn rows and ``toolzero-eval`` use, next to the output
format's instruction; a template's own tool block (Qwen2.5's adds a hermes instruction) would list
them twice and, for the ``answer`` format, contradict the instruction. Set ``pass_tools_to_template``
for a model whose template needs them.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping
from uuid import uuid4

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput, _agent_loop_registry, register
from verl.utils.profiler import simple_timer

from toolzero_verl.core.clock import select
from toolzero_verl.core.episode import AGENT_NAME, RECORD_KEY, load_episode
from toolzero_verl.plugin.config_nodes import plain_config
from toolzero_verl.tools.session import (
    RESPONSE_LENGTH,
    TURN_LIMIT,
    AgentLoopOptions,
    EpisodeSession,
    SessionLimits,
    import_executor_modules,
)

logger = logging.getLogger(__name__)

OPTIONS_KEY = "actor_rollout_ref.rollout.custom.toolzero"
DEFAULT_FORMAT = "answer"  # the reward's default output format (toolzero_verl/rewards/scoring.py)



def loop_settings(config: Any) -> tuple[AgentLoopOptions, SessionLimits, int | None]:
    """Our options, the session's limits (verl's ``multi_turn`` settings + ours) and verl's user-turn cap."""
    options = AgentLoopOptions.from_mapping(plain_config(select(config, OPTIONS_KEY)), where=OPTIONS_KEY)
    multi_turn = select(config, "actor_rollout_ref.rollout.multi_turn") or {}
    given = {
        "max_turns": multi_turn.get("max_assistant_turns"),
        "max_calls_per_turn": multi_turn.get("max_parallel_calls"),
        "max_result_chars": multi_turn.get("max_tool_response_length"),
        "truncate_side": multi_turn.get("tool_response_truncate_side"),
    }
    limits = SessionLimits(**{k: v for k, v in given.items() if v is not None},
                           max_argument_chars=options.max_argument_chars, call_timeout_s=options.call_timeout_s)
    return options, limits, multi_turn.get("max_user_turns")


def row_output_format(options: AgentLoopOptions, extra_info: Any, config: Any) -> str:
    """The format the row's turns are parsed in: our option, else the row's ``extra_info.output_format``
    (written by toolzero-prep), else the reward's ``output_format``, else the default."""
    if options.output_format:
        return options.output_format
    if isinstance(extra_info, Mapping) and extra_info.get("output_format"):
        return str(extra_info["output_format"])
    return select(config, "reward.custom_reward_function.reward_kwargs.output_format") or DEFAULT_FORMAT


class ToolZeroAgentLoop(AgentLoopBase):
    """verl agent loop ``toolzero_agent`` (see the module docstring)."""

    def __init__(self, *args, tools=None, **kwargs):
        # ``tools``: verl's global tool list (multi_turn.tool_config_path); unused, every row brings its own
        super().__init__(*args, **kwargs)
        self.options, self.limits, self.max_user_turns = loop_settings(self.config)
        import_executor_modules(self.options.executor_modules)
        self.response_length = self.rollout_config.response_length

    async def run(self, sampling_params: dict[str, Any], **kwargs) -> AgentLoopOutput:
        """One episode of the row in ``kwargs`` (verl's dataset fields: raw_prompt, reward_model, extra_info)."""
        messages = [dict(m) for m in kwargs["raw_prompt"]]
        reward_model = kwargs.get("reward_model") or {}
        episode = load_episode(reward_model["ground_truth"])
        fmt = row_output_format(self.options, kwargs.get("extra_info"), self.config)
        session = EpisodeSession(episode, fmt, self.limits)
        tools = list(episode.tools) if self.options.pass_tools_to_template else None
        metrics: dict[str, Any] = {}
        request_id = uuid4().hex

        prompt_ids = await self.ct_build_initial_tokens(messages, tools=tools)
        mask: list[int] = []
        logprobs: list[float] = []
        extra_fields: dict[str, Any] = {}
        while True:
            # each turn gets what is left of the response budget, so no turn is cut off in the token stream
            turn_params = {**sampling_params, "max_tokens": max(1, self.response_length - len(mask))}
            with simple_timer("generate_sequences", metrics):
                output = await self.server_manager.generate(
                    request_id=request_id, prompt_ids=prompt_ids, sampling_params=turn_params)
            _merge_server_fields(extra_fields, output.extra_fields)
            merged, mask, new_logprobs = await self.ct_merge_assistant_token(
                prompt_ids, output.token_ids, mask, logprobs if (logprobs or output.log_probs) else None,
                assistant_logprobs=output.log_probs or None)
            prompt_ids = merged.token_ids
            logprobs = new_logprobs or []
            text = await self.loop.run_in_executor(None, self._decode, output.token_ids)
            with simple_timer("tool_calls", metrics):
                new_messages = await self.loop.run_in_executor(None, session.respond, text)
            if session.done:
                break
            if len(mask) >= self.response_length:
                session.finish(RESPONSE_LENGTH)
                break
            if self.max_user_turns and session.user_turns > self.max_user_turns:
                session.finish(TURN_LIMIT)
                break
            messages.append({"role": "assistant", "content": text})
            previous = list(messages)
            messages.extend(new_messages)
            merged, aligned_mask, aligned_logprobs = await self.ct_merge_context_msg(
                previous, messages, prompt_ids, mask, logprobs or None, tools=tools)
            if len(aligned_mask) >= self.response_length:  # no room left for another turn
                session.finish(RESPONSE_LENGTH)
                break
            prompt_ids, mask = merged.token_ids, aligned_mask
            logprobs = aligned_logprobs or []

        n = len(mask)
        extra_fields.update({RECORD_KEY: session.record(), "turn_scores": [], "tool_rewards": []})
        return AgentLoopOutput(
            prompt_ids=prompt_ids[: len(prompt_ids) - n],
            response_ids=prompt_ids[len(prompt_ids) - n:][: self.response_length],
            response_mask=mask[: self.response_length],
            response_logprobs=logprobs[: self.response_length] if logprobs else None,
            num_turns=1 + len(session.turns) + session.tool_turns + session.user_turns,
            metrics=metrics,
            extra_fields=extra_fields,
        )

    def _decode(self, token_ids) -> str:
        # what verl's reward managers decode, so the loop and the reward see the same text
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)


def _merge_server_fields(fields: dict[str, Any], new: Mapping[str, Any]) -> None:
    """The rollout server's stamps: the first turn's, with the newest weight version (as verl's ToolAgentLoop)."""
    if not fields:
        fields.update(new)
    elif new.get("max_global_steps") is not None:
        fields["max_global_steps"] = new["max_global_steps"]


def register_agent_loop() -> bool:
    """``toolzero_agent`` in verl's agent-loop registry (idempotent; a foreign loop under our name is kept)."""
    target = f"{ToolZeroAgentLoop.__module__}.{ToolZeroAgentLoop.__qualname__}"
    existing = _agent_loop_registry.get(AGENT_NAME)
    existing_target = existing.get("_target_") if hasattr(existing, "get") else None
    if existing is not None and existing_target != target:
        logger.warning("toolzero-verl: agent loop name %r is already taken by %s; not overriding it",
                       AGENT_NAME, existing_target)
        return False
    register(AGENT_NAME)(ToolZeroAgentLoop)
    return True


register_agent_loop()
