"""GPU memory a recipe needs, estimated from its composed verl config (the preflight's fit warning, and
the table of docs/recipes.md, "What each recipe needs").

An **estimate**, not a measurement: no GPU run was made for this project. It adds up the terms below for
verl 0.9's hybrid engine (the FSDP actor and vLLM share each GPU and take turns: vLLM sleeps while the
actor trains, ``actor_rollout_ref.rollout.free_cache_engine``), per GPU, and takes the larger phase:

- **training**: the actor's resident state (fp32 weights, fp32 gradients and Adam's two fp32 moments:
  4 + 4 + 8 bytes per trained parameter, sharded over the GPUs; a frozen LoRA base keeps only its
  weights), one transformer layer gathered in bf16 (current + prefetched), activations with gradient
  checkpointing (one bf16 hidden state per layer and token, plus one layer's intermediate tensors
  while it is recomputed), and the logits of a micro-batch (:data:`LOGIT_BYTES` per token and
  vocabulary entry); ``param_offload``/``optimizer_offload`` move weights and Adam to the CPU between
  phases, but verl loads them back for the update, so they do not lower this phase; FSDP2's
  ``offload_policy`` keeps them on the CPU throughout (Adam steps on the CPU) and does;
- **rollout**: vLLM's pool, ``gpu_memory_utilization`` x the card (its weights in bf16 / TP plus the KV
  cache, ``vllm/worker/gpu_worker.py`` sizes it so), plus what the actor keeps on the GPU meanwhile:
  weights unless ``param_offload``, Adam unless ``optimizer_offload`` (``verl/workers/engine_workers.py``
  offloads them after the weight sync);
- both: :data:`OVERHEAD_GIB` for the CUDA contexts of the trainer and vLLM processes, NCCL buffers
  and allocator fragmentation.

It also checks that vLLM's pool holds its weights and the KV cache of one full-length sequence (vLLM
refuses to start otherwise), and estimates the host RAM the offloaded states take.

>>> shape = KNOWN_SHAPES["Qwen/Qwen2.5-1.5B"]
>>> round(shape.params() / 1e9, 2)   # the model card: 1.54B
1.54
>>> est = estimate(shape, Plan(gpus=1, memory_gib=80.0, util=0.5, train_tokens=16384, max_seq=4096))
>>> est.peak_gib > 24 and est.peak_gib < 80
True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

GIB = 1 << 30
# Per token and vocabulary entry while the actor computes log-probs and their gradient: bf16 logits (2 bytes)
# and their bf16 gradient (2), plus temporaries of the log-softmax (counted as 2 more). verl takes
# log-probs from the full logits of a micro-batch (verl/utils/torch_functional.py, logprobs_from_logits).
LOGIT_BYTES = 6
# CUDA contexts of the two processes per GPU (trainer, vLLM), NCCL buffers and allocator fragmentation.
OVERHEAD_GIB = 2.0
# Per trained parameter: fp32 weight (4) + fp32 gradient (4) + Adam's two fp32 moments (8).
TRAINED_BYTES = 16
ADAM_BYTES = 8
BF16 = 2
# Intermediate tensors of one recomputed layer, bytes per token: bf16 copies of the layer input, q, k, v,
# attention output and o-projection (~10 x hidden) and of the MLP's gate, up, activation and down input
# (4 x intermediate); Korthikanti et al. 2022 (arXiv 2205.05198) count 34 x hidden for a 4 x hidden MLP.
def _layer_activation_bytes(hidden: int, intermediate: int) -> int:
    return BF16 * (10 * hidden + 4 * intermediate)


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs of a decoder-only transformer (Qwen2/Qwen3/Llama layout: GQA attention,
    SwiGLU MLP), as in its ``config.json``."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool
    head_dim: int = 0  # 0: hidden / heads
    qkv_bias: bool = False

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden // self.heads

    def layer_params(self) -> int:
        q, kv = self.heads * self.hd, self.kv_heads * self.hd
        attention = self.hidden * (q + 2 * kv) + q * self.hidden + ((q + 2 * kv) if self.qkv_bias else 0)
        return attention + 3 * self.hidden * self.intermediate + 2 * self.hidden  # + the two RMSNorm weights

    def params(self) -> int:
        """All parameters (embedding counted once when tied to the LM head)."""
        return self.layers * self.layer_params() + self.vocab * self.hidden * (1 if self.tied else 2) + self.hidden

    def lora_params(self, rank: int) -> int:
        """Adapter parameters of ``target_modules=all-linear``: rank x (in + out) per q, k, v, o, gate, up, down."""
        q, kv = self.heads * self.hd, self.kv_heads * self.hd
        per_layer = (self.hidden + q) * 2 + (self.hidden + kv) * 2 + (self.hidden + self.intermediate) * 3
        return rank * per_layer * self.layers

    def kv_bytes_per_token(self) -> int:
        """bf16 keys and values of every layer."""
        return 2 * self.layers * self.kv_heads * self.hd * BF16


def shape_from_config(config: Mapping[str, Any]) -> ModelShape:
    """A :class:`ModelShape` from a Hugging Face ``config.json``.

    >>> shape_from_config({"num_hidden_layers": 2, "hidden_size": 128, "intermediate_size": 256,
    ...                    "num_attention_heads": 2, "vocab_size": 1024}).kv_heads
    2
    """
    heads = int(config["num_attention_heads"])
    return ModelShape(
        layers=int(config["num_hidden_layers"]),
        hidden=int(config["hidden_size"]),
        intermediate=int(config["intermediate_size"]),
        heads=heads,
        kv_heads=int(config.get("num_key_value_heads") or heads),
        vocab=int(config["vocab_size"]),
        tied=bool(config.get("tie_word_embeddings", False)),
        head_dim=int(config.get("head_dim") or 0),
        qkv_bias=config.get("model_type") == "qwen2" or bool(config.get("attention_bias", False)),
    )


def _qwen25(layers, hidden, intermediate, heads, kv_heads, vocab, tied):
    return ModelShape(layers, hidden, intermediate, heads, kv_heads, vocab, tied, qkv_bias=True)


def _qwen3(layers, hidden, intermediate, heads, kv_heads, tied):
    return ModelShape(layers, hidden, intermediate, heads, kv_heads, 151936, tied, head_dim=128)


# config.json values of the models the recipes and docs name (Hugging Face model cards of Qwen/Qwen2.5-*
# and Qwen/Qwen3-*; the Instruct checkpoints share the Base shapes), used when the model is not on disk.
KNOWN_SHAPES: dict[str, ModelShape] = {
    "Qwen/Qwen2.5-0.5B": _qwen25(24, 896, 4864, 14, 2, 151936, True),
    "Qwen/Qwen2.5-1.5B": _qwen25(28, 1536, 8960, 12, 2, 151936, True),
    "Qwen/Qwen2.5-3B": _qwen25(36, 2048, 11008, 16, 2, 151936, True),
    "Qwen/Qwen2.5-7B": _qwen25(28, 3584, 18944, 28, 4, 152064, False),
    "Qwen/Qwen2.5-14B": _qwen25(48, 5120, 13824, 40, 8, 152064, False),
    "Qwen/Qwen2.5-32B": _qwen25(64, 5120, 27648, 40, 8, 152064, False),
    "Qwen/Qwen3-0.6B": _qwen3(28, 1024, 3072, 16, 8, True),
    "Qwen/Qwen3-1.7B": _qwen3(28, 2048, 6144, 16, 8, True),
    "Qwen/Qwen3-4B": _qwen3(36, 2560, 9728, 32, 8, True),
    "Qwen/Qwen3-8B": _qwen3(36, 4096, 12288, 32, 8, False),
    "Qwen/Qwen3-14B": _qwen3(40, 5120, 17408, 40, 8, False),
    "Qwen/Qwen3-32B": _qwen3(64, 5120, 25600, 64, 8, False),
}
_VARIANT_SUFFIXES = ("-Instruct", "-Base")


def model_shape(model: str) -> tuple[ModelShape | None, str]:
    """The shape of ``model`` (a local directory or a Hub id) and where it came from: the directory's
    ``config.json``, the Hugging Face cache (looked up, never downloaded), or :data:`KNOWN_SHAPES`."""
    path = Path(model).expanduser()
    config = path / "config.json"
    if not config.is_file():
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model, "config.json")
        except Exception:  # noqa: BLE001 - not an id, no huggingface_hub: fall through to the table
            cached = None
        config = Path(cached) if isinstance(cached, str) else None
    if config is not None:
        try:
            return shape_from_config(json.loads(config.read_text())), str(config)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return None, f"{config} does not describe a decoder-only transformer ({type(exc).__name__}: {exc})"
    key = model
    for suffix in _VARIANT_SUFFIXES:
        key = key.removesuffix(suffix)
    if key in KNOWN_SHAPES:
        return KNOWN_SHAPES[key], f"the {key} model card"
    return None, f"{model}: no config.json on disk or in the Hugging Face cache, and not a model we know"


@dataclass(frozen=True)
class Plan:
    """The settings of a run that the estimate reads (:func:`plan_from_config` takes them from verl's config)."""

    gpus: int = 1  # GPUs the actor is sharded over (nnodes x n_gpus_per_node)
    memory_gib: float = 80.0  # per GPU: only used to size vLLM's pool (gpu_memory_utilization x card)
    util: float = 0.6  # actor_rollout_ref.rollout.gpu_memory_utilization
    tp: int = 1  # rollout tensor parallel size
    train_tokens: int = 16384  # tokens in one actor micro-batch (dynamic batch: ppo_max_token_len_per_gpu)
    max_seq: int = 4096  # max prompt + max response
    lora_rank: int = 0
    weight_bytes: int = 4  # actor model_dtype: fp32 (verl's default for training) or bf16
    param_offload: bool = False
    optimizer_offload: bool = False
    offload_policy: bool = False  # FSDP2 CPUOffloadPolicy: weights, gradients and Adam live on the CPU
    free_cache_engine: bool = True  # vLLM sleeps while the actor trains
    reference: bool = False  # a reference policy (KL loss or KL in the reward) outside the actor (not LoRA)


def plan_from_config(cfg: Any, memory_gib: float) -> Plan:
    """The :class:`Plan` of a composed verl ``ppo_trainer`` config, for GPUs of ``memory_gib``."""
    from omegaconf import OmegaConf

    def get(key: str, default: Any = None) -> Any:
        value = OmegaConf.select(cfg, key, default=default)
        return default if value is None else value

    actor, rollout = "actor_rollout_ref.actor.", "actor_rollout_ref.rollout."
    max_seq = int(get("data.max_prompt_length", 1024)) + int(get("data.max_response_length", 1024))
    if get(actor + "use_dynamic_bsz", False):
        tokens = int(get(actor + "ppo_max_token_len_per_gpu", 16384))
    else:
        tokens = int(get(actor + "ppo_micro_batch_size_per_gpu", 1) or 1) * max_seq
    fsdp = actor + "fsdp_config."
    strategy = get(actor + "strategy", "fsdp")
    return Plan(
        gpus=int(get("trainer.n_gpus_per_node", 1)) * int(get("trainer.nnodes", 1)),
        memory_gib=memory_gib,
        util=float(get(rollout + "gpu_memory_utilization", 0.5)),
        tp=int(get(rollout + "tensor_model_parallel_size", 1)),
        train_tokens=tokens,
        max_seq=max_seq,
        lora_rank=int(get("actor_rollout_ref.model.lora_rank", 0)),
        weight_bytes=2 if str(get(fsdp + "model_dtype", "fp32")) in ("bf16", "bfloat16", "fp16", "float16") else 4,
        param_offload=bool(get(fsdp + "param_offload", False)),
        optimizer_offload=bool(get(fsdp + "optimizer_offload", False)),
        offload_policy=strategy == "fsdp2" and bool(get(fsdp + "offload_policy", False)),
        free_cache_engine=bool(get(rollout + "free_cache_engine", True)),
        reference=bool(get(actor + "use_kl_loss", False) or get("algorithm.use_kl_in_reward", False)),
    )


@dataclass(frozen=True)
class Estimate:
    """GiB per GPU in each phase (``parts`` names every term), vLLM's needs, and host RAM for offloaded state."""

    train_gib: float
    rollout_gib: float
    vllm_weights_gib: float
    kv_one_sequence_gib: float
    host_gib: float
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def peak_gib(self) -> float:
        return max(self.train_gib, self.rollout_gib)

    def kv_gib(self, plan: Plan) -> float:
        """KV cache vLLM is left with: its pool minus its weights."""
        return plan.util * plan.memory_gib - self.vllm_weights_gib


def estimate(shape: ModelShape, plan: Plan) -> Estimate:
    """The estimate described in the module docstring."""
    params, n = shape.params(), max(plan.gpus, 1)
    lora = plan.lora_rank > 0
    trained = shape.lora_params(plan.lora_rank) if lora else params
    weights = (params * plan.weight_bytes + (trained * 4 if lora else 0)) / n  # LoRA: frozen base + fp32 adapters
    grads = trained * 4 / n
    adam = trained * ADAM_BYTES / n
    on_cpu = plan.offload_policy
    gathered = 2 * shape.layer_params() * BF16  # the layer being computed and the one prefetched
    tokens = plan.train_tokens
    checkpoints = shape.layers * shape.hidden * BF16  # one bf16 hidden state per layer and token
    activations = tokens * (checkpoints + _layer_activation_bytes(shape.hidden, shape.intermediate))
    logits = tokens * shape.vocab * LOGIT_BYTES
    state_gpu = 0.0 if on_cpu else weights + grads
    train = state_gpu + gathered + activations + logits
    if not on_cpu:  # the optimizer step: weights, gradients and Adam at once (activations are freed by then)
        train = max(train, weights + grads + adam)
    vllm_pool = plan.util * plan.memory_gib * GIB
    if not plan.free_cache_engine:  # vLLM keeps its pool while the actor trains
        train += vllm_pool
    resident = 0.0 if on_cpu else (0.0 if plan.param_offload else weights) + (0.0 if plan.optimizer_offload else adam)
    rollout = vllm_pool + resident
    overhead = OVERHEAD_GIB * GIB
    host = (weights + grads + adam) if on_cpu else (
        (weights if plan.param_offload else 0.0) + (adam if plan.optimizer_offload else 0.0)
    )
    if plan.reference and not lora:  # verl keeps the reference's bf16 weights on the CPU (forward_only engine)
        host += params * BF16 / n
    parts = {
        "weights": weights, "gradients": grads, "adam": adam, "gathered_layer": gathered,
        "activations": activations, "logits": logits, "vllm_pool": vllm_pool, "resident_during_rollout": resident,
        "overhead": overhead,
    }
    return Estimate(
        train_gib=(train + overhead) / GIB,
        rollout_gib=(rollout + overhead) / GIB,
        vllm_weights_gib=params * BF16 / max(plan.tp, 1) / GIB,
        kv_one_sequence_gib=plan.max_seq * shape.kv_bytes_per_token() / max(plan.tp, 1) / GIB,
        host_gib=host * n / GIB,  # every rank of the node offloads its shard
        parts={k: v / GIB for k, v in parts.items()},
    )


def fit_problems(est: Estimate, plan: Plan, gpu_memory_gib: float) -> list[str]:
    """Why the run would not fit GPUs of ``gpu_memory_gib`` each (empty: it fits by this estimate)."""
    problems = []
    if est.peak_gib > gpu_memory_gib:
        phase = ("the actor update" if est.train_gib >= est.rollout_gib
                 else "the rollout (vLLM pool + what the actor keeps)")
        problems.append(
            f"estimated peak {est.peak_gib:.1f} GiB per GPU ({phase}) exceeds the {gpu_memory_gib:.1f} GiB of this "
            f"GPU; {_advice(est, plan)}"
        )
    kv = est.kv_gib(plan)
    if kv < est.kv_one_sequence_gib:
        problems.append(
            f"vLLM's share ({plan.util:g} x {gpu_memory_gib:.1f} GiB) leaves {kv:.1f} GiB for the KV cache after its "
            f"{est.vllm_weights_gib:.1f} GiB of weights, less than one {plan.max_seq}-token sequence needs "
            f"({est.kv_one_sequence_gib:.2f} GiB); raise GPU_MEMORY_UTILIZATION or ROLLOUT_TP"
        )
    return problems


def _advice(est: Estimate, plan: Plan) -> str:
    if est.train_gib >= est.rollout_gib:
        steps = ["lower MAX_TOKEN_LEN_PER_GPU (logits and activations scale with it)"]
        if not plan.offload_policy and plan.lora_rank == 0:
            steps.append("use LoRA (LORA_RANK=32) or FSDP2's CPU offload (OFFLOAD_POLICY=True)")
        return "; ".join(steps) + " (docs/recipes.md, \"What each recipe needs\")"
    return ("lower GPU_MEMORY_UTILIZATION or set PARAM_OFFLOAD=True OPTIMIZER_OFFLOAD=True "
            "(docs/recipes.md, \"What each recipe needs\")")


def visible_gpu_memory_gib() -> list[float]:
    """Memory of each visible CUDA GPU, in GiB (empty without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_properties(i).total_memory / GIB for i in range(torch.cuda.device_count())]


def parse_gpus(text: str) -> tuple[int, float]:
    """``"NxGIB"`` (e.g. ``1x24``, ``8x80``): a GPU count and the memory of each, in GiB.

    >>> parse_gpus("8x80")
    (8, 80.0)
    >>> parse_gpus("24")
    Traceback (most recent call last):
    ...
    ValueError: expected GPUS like 1x24 (count x GiB per GPU), got '24'
    """
    count, sep, gib = text.strip().lower().partition("x")
    try:
        if not sep:
            raise ValueError
        n, mem = int(count), float(gib)
    except ValueError:
        raise ValueError(f"expected GPUS like 1x24 (count x GiB per GPU), got {text!r}") from None
    if n < 1 or not mem > 0:
        raise ValueError(f"expected a positive GPU count and memory, got {text!r}")
    return n, mem


def environ_gpus(environ: Mapping[str, str] | None = None) -> tuple[int, float] | None:
    """``PLAN_GPUS`` (``NxGIB``): the GPUs to check the recipe against instead of the visible ones."""
    value = (os.environ if environ is None else environ).get("PLAN_GPUS", "").strip()
    return parse_gpus(value) if value else None
