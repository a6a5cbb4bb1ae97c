"""Held-out episodes through the training agent loop, outside training (docs/multiturn.md, "Evaluation").

``toolzero-eval generate`` on episode rows (``toolzero-prep --agent-loop``) runs every episode in the
``toolzero_agent`` loop exactly as verl's ``AgentLoopWorker._run_agent_loop`` does in training and
validation (``verl/experimental/agent_loop/agent_loop.py``): the registry entry instantiated by
``hydra.utils.instantiate`` with verl's composed ``ppo_trainer`` config, the checkpoint's tokenizer, its
Hugging Face ``model_type`` (which picks the Continuous Token builder) and verl's ``RLHFDataset`` class.
Only the LLM server differs: :class:`EngineServer` puts vLLM's async engine
(``vllm.v1.engine.async_llm.AsyncLLM``) behind the interface verl's ``LLMServerClient`` gives the loop,
``generate(request_id, prompt_ids, sampling_params) -> TokenOutput``, doing what verl's vLLM server does
with a request (``verl/workers/rollout/vllm_rollout/vllm_async_server.py``, ``generate``): token ids in,
``max_tokens`` clamped to the context left, ``logprobs`` as a flag, token ids (and log-probs) out.

Many episodes run concurrently on the one engine (at most ``concurrency`` at a time), so vLLM batches
their turns as it batches a training step's rollouts. An engine error in one episode does not stop the
others: it is returned as that episode's ``error`` (the caller writes it and exits non-zero).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from verl.experimental.agent_loop.agent_loop import DictConfigWrap, ToolListWrap, _agent_loop_registry
from verl.workers.rollout.replica import TokenOutput

from toolzero_verl.core.chat_template import prompt_token_ids
from toolzero_verl.core.episode import AGENT_NAME, RECORD_KEY

ABORTED, COMPLETED = "aborted", "completed"  # verl's TokenOutput.stop_reason values
ABORT_FINISH_REASON = "abort"  # vLLM's finish_reason of an aborted request


class PromptTooLong(ValueError):
    """The row's prompt exceeds ``max_prompt_length`` (verl's loop would cut it; training drops such rows)."""


class ContextFull(ValueError):
    """The prompt leaves no room in the engine's context for one more token (as verl's server refuses it)."""


def compose_config(values: Mapping[str, Any]) -> Any:
    """verl's ``ppo_trainer`` config, composed by Hydra from verl's own config folder, with ``values``
    (a nested mapping, e.g. ``{"data": {"max_response_length": 512}}``) merged in. Values are merged as
    data, not passed as Hydra override strings, so a model path or a chat-template keyword needs no quoting;
    new keys (``actor_rollout_ref.rollout.custom.toolzero``) are allowed, as ``+key=`` overrides allow them."""
    from omegaconf import OmegaConf

    from toolzero_verl.plugin.preflight import compose

    config = compose((), resolve=False)
    OmegaConf.set_struct(config, False)
    config = OmegaConf.merge(config, OmegaConf.create(dict(values)))
    OmegaConf.set_struct(config, True)
    return config


class EngineServer:
    """verl's LLM-server interface for the agent loop, over an engine with vLLM ``AsyncLLM``'s ``generate``.

    ``engine.generate(prompt, sampling_params, request_id)`` is an async iterator of request outputs
    (``.outputs[0].token_ids``, ``.logprobs``, ``.finish_reason``); ``make_params`` builds its sampling
    parameters (``vllm.SamplingParams``); ``max_model_len`` is the engine's context.
    """

    def __init__(self, engine: Any, make_params: Callable[..., Any], max_model_len: int):
        self.engine, self.make_params, self.max_model_len = engine, make_params, int(max_model_len)
        self.requests = 0

    async def generate(self, request_id: str, prompt_ids: Sequence[int], sampling_params: Mapping[str, Any],
                       **kwargs: Any) -> TokenOutput:
        """One turn. The loop keeps one request id per episode; each engine request gets its own
        (vLLM rejects an id that is still in flight, and turns of concurrent episodes interleave)."""
        params = dict(sampling_params)
        room = self.max_model_len - len(prompt_ids)
        if room < 1:
            raise ContextFull(f"the episode's context ({len(prompt_ids)} tokens) fills the engine's "
                              f"max_model_len ({self.max_model_len}); raise --max-model-len")
        max_tokens = params.pop("max_tokens", params.pop("max_new_tokens", room))
        params["max_tokens"] = max(1, min(int(max_tokens), room))
        want_logprobs = bool(params.pop("logprobs", False))
        params["logprobs"] = 0 if want_logprobs else None  # 0: the sampled token's log-prob only
        self.requests += 1
        final = None
        stream = self.engine.generate({"prompt_token_ids": list(prompt_ids)}, self.make_params(**params),
                                      f"{request_id}-{self.requests}")
        async for output in stream:  # outputs so far; the last one is the finished turn
            final = output
        if final is None or not final.outputs:
            return TokenOutput(token_ids=[], log_probs=None, stop_reason=ABORTED)
        out = final.outputs[0]
        token_ids = list(out.token_ids)
        log_probs = None
        if want_logprobs and out.logprobs is not None:
            log_probs = [float(step[token].logprob) for token, step in zip(token_ids, out.logprobs)]
        stop = ABORTED if out.finish_reason == ABORT_FINISH_REASON else COMPLETED
        return TokenOutput(token_ids=token_ids, log_probs=log_probs, stop_reason=stop)


@dataclass
class EpisodeResult:
    """One episode of one row: the loop's output, or the error that ended it."""

    position: int  # the row's position in the rows given
    sample: int
    record: dict[str, Any] | None = None  # the session's record (turns, counts, stop)
    prompt_ids: list[int] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)
    response_mask: list[int] = field(default_factory=list)
    error: str | None = None


def loop_kwargs(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's fields as verl's worker hands them to ``AgentLoopBase.run`` (its ``RLHFDataset`` item:
    ``raw_prompt`` is the parquet ``prompt`` column)."""
    return {"raw_prompt": [dict(m) for m in row["prompt"]], "reward_model": dict(row.get("reward_model") or {}),
            "extra_info": dict(row.get("extra_info") or {}), "data_source": row.get("data_source"),
            "index": (row.get("extra_info") or {}).get("index")}


def model_type(model: str) -> str | None:
    """The checkpoint's root Hugging Face ``model_type`` (how verl's worker picks the Continuous Token builder)."""
    from transformers import AutoConfig

    try:
        value = getattr(AutoConfig.from_pretrained(model), "model_type", None)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, str) else None


async def run_episode(config: Any, server: Any, tokenizer: Any, hf_model_type: str | None,
                      sampling_params: Mapping[str, Any], row: Mapping[str, Any], position: int,
                      sample: int) -> EpisodeResult:
    """One row's episode in ``toolzero_agent``, instantiated as verl's ``AgentLoopWorker`` instantiates it."""
    import hydra
    from verl.utils.dataset.rl_dataset import RLHFDataset

    limit = config.actor_rollout_ref.rollout.prompt_length
    n_prompt = len(prompt_token_ids([row], tokenizer, config.data.get("apply_chat_template_kwargs"))[0])
    if n_prompt > limit:
        # verl's loop would cut the prompt from the left (AgentLoopBase._cap_text_prompt_length); training never
        # sees such a row (data.filter_overlong_prompts), so an evaluation must not score a cut one
        raise PromptTooLong(f"the prompt has {n_prompt} tokens, more than max_prompt_length={limit}")
    loop = hydra.utils.instantiate(
        _agent_loop_registry[AGENT_NAME], trainer_config=DictConfigWrap(config), server_manager=server,
        tokenizer=tokenizer, processor=None, hf_model_type=hf_model_type, dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data), tools=ToolListWrap([]))
    out = await loop.run(dict(sampling_params), **loop_kwargs(row))
    return EpisodeResult(position, sample, record=dict(out.extra_fields[RECORD_KEY]), prompt_ids=list(out.prompt_ids),
                         response_ids=list(out.response_ids), response_mask=list(out.response_mask))


async def run_episodes(rows: Sequence[Mapping[str, Any]], config: Any, server: Any, tokenizer: Any,
                       hf_model_type: str | None, sampling_params: Mapping[str, Any], *, samples: int = 1,
                       concurrency: int = 32, seed: int | None = None,
                       on_done: Callable[[EpisodeResult], None] | None = None) -> list[EpisodeResult]:
    """Every row's episode, ``samples`` times, at most ``concurrency`` at once; results in row order.
    Sample ``k`` samples with seed ``seed + k`` (the same seed would make every sample the same)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(position: int, row: Mapping[str, Any], sample: int) -> EpisodeResult:
        params = dict(sampling_params)
        if seed is not None:
            params["seed"] = seed + sample
        async with gate:
            try:
                result = await run_episode(config, server, tokenizer, hf_model_type, params, row, position, sample)
            except Exception as exc:  # noqa: BLE001 - one episode's engine error must not lose the others
                result = EpisodeResult(position, sample, error=f"{type(exc).__name__}: {exc}"[:2000])
        if on_done is not None:
            on_done(result)
        return result

    tasks = [one(pos, row, k) for pos, row in enumerate(rows) for k in range(samples)]
    return list(await asyncio.gather(*tasks))


def validation_sampling(temperature: float, top_p: float, top_k: int, logprobs: bool = False) -> dict[str, Any]:
    """The sampling parameters verl's worker hands every agent loop (``AgentLoopWorker.generate_sequences``,
    with ``val_kwargs`` on validation); the loop adds each turn's ``max_tokens``."""
    return {"temperature": temperature, "top_p": top_p, "top_k": top_k, "repetition_penalty": 1.0,
            "logprobs": logprobs}


def load_tokenizer(model: str, chat_template: str | None = None, trust_remote_code: bool = False) -> Any:
    """The checkpoint's tokenizer as verl's worker loads it (``verl.utils.hf_tokenizer``), with the training
    run's custom chat template when given (``actor_rollout_ref.model.custom_chat_template``)."""
    from verl.utils import hf_tokenizer

    tokenizer = hf_tokenizer(model, trust_remote_code=trust_remote_code)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


async def run_on_vllm(engine_args: Mapping[str, Any], work: Callable[[Any, Callable[..., Any], int], Any]) -> Any:
    """``await work(engine, SamplingParams, max_model_len)`` on a vLLM ``AsyncLLM`` started from
    ``engine_args`` (``AsyncEngineArgs``' fields), shut down afterwards."""
    from vllm import SamplingParams
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    # no periodic stats lines on stdout, as vLLM's offline LLM (the single-turn path) does by default
    engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**{"disable_log_stats": True, **engine_args}))
    try:
        return await work(engine, SamplingParams, engine.model_config.max_model_len)
    finally:
        engine.shutdown()


def generate_episodes(rows: Sequence[Mapping[str, Any]], config_values: Mapping[str, Any], *, model: str,
                      sampling: Mapping[str, Any], engine_args: Mapping[str, Any], samples: int = 1,
                      concurrency: int = 32, seed: int | None = None, chat_template: str | None = None,
                      trust_remote_code: bool = False, on_start: Callable[[], None] | None = None,
                      on_done: Callable[[EpisodeResult], None] | None = None) -> tuple[list[EpisodeResult], Any]:
    """Run every row's episode on a vLLM engine (:func:`run_on_vllm`); returns the results (row order) and
    the tokenizer the loop used. ``on_start`` is called once the engine is up, ``on_done`` per episode."""
    config = compose_config(config_values)
    tokenizer = load_tokenizer(model, chat_template, trust_remote_code)
    hf_type = model_type(model)

    async def work(engine, make_params, max_model_len):
        if on_start is not None:
            on_start()
        server = EngineServer(engine, make_params, max_model_len)
        return await run_episodes(rows, config, server, tokenizer, hf_type, sampling, samples=samples,
                                  concurrency=concurrency, seed=seed, on_done=on_done)

    # the engine and the loops are built inside the running event loop, as in verl's worker
    return asyncio.run(run_on_vllm(dict(engine_args), work)), tokenizer
