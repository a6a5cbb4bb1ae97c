"""Observability by default: what every recipe turns on so a run can be judged, and the checks that those
settings are safe before a launch (docs/verl.md, "Observability").

The recipes (``observability_args`` in recipes/common.sh) pass:

- the :class:`~toolzero_verl.plugin.replay_buffer.ToolZeroReplayBuffer` sampler, which logs the reward
  components, σ, parse failures, the hack monitors and the equal-reward-group fraction at every training
  step, with its poll interval and stall guard in ``trainer.v1.sampler.sampler_kwargs``;
- verl's ``file`` logger next to console/W&B, its path ``VERL_FILE_LOGGER_PATH=<run dir>/metrics.jsonl``
  given to the job's Ray runtime environment, because verl's ``FileLogger`` reads it inside the
  ``TaskRunner`` actor (``verl/utils/tracking.py``) and Ray workers on a ``ray start`` cluster do not
  inherit the launching shell's environment;
- TransferQueue's storage-unit count.

:func:`problems` is called by the recipes' preflight (:mod:`toolzero_verl.plugin.preflight`); each
returns ``(check, message)`` pairs. verl and Ray are imported inside the functions.

>>> logger_names('["console","file"]'), logger_names("console"), logger_names(None)
(['console', 'file'], ['console'], [])
>>> ray_cpus_needed(storage_units=8, gpus=8)
34
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

SAMPLER_MODULE = "toolzero_verl.plugin.replay_buffer"
SAMPLER_PATHS = (f"pkg://{SAMPLER_MODULE}", SAMPLER_MODULE)
SYNC_SAMPLER, ASYNC_SAMPLER = "ToolZeroReplayBuffer", "ToolZeroReplayBufferAsync"
FILE_LOGGER_ENV = "VERL_FILE_LOGGER_PATH"  # read by verl's FileLogger (verl/utils/tracking.py)
RUNTIME_ENV_VARS = "ray_kwargs.ray_init.runtime_env.env_vars"
TQ_UNITS_KEY = "transfer_queue.backend.SimpleStorage.num_data_storage_units"
# Ray CPUs a run holds (logical CPUs: Ray's scheduling resource, not cores):
TQ_CONTROLLER_CPUS = 1  # transfer_queue/controller.py: the controller actor is @ray.remote(num_cpus=1)
TQ_UNIT_CPUS = 1  # transfer_queue/storage/simple_storage.py: each SimpleStorageUnit is @ray.remote(num_cpus=1)
# verl's ResourcePoolManager (verl/single_controller/ray/base.py) reserves bundles of {"CPU": 3, "GPU": 1}
# (max_colocate_count = 3) in its placement groups for the actor/rollout workers.
PLACEMENT_CPUS_PER_GPU = 3
# Ray schedules an actor with the default options (TaskRunner, agent-loop and reward workers) only when
# one CPU is free, and releases it once the actor runs.
ACTOR_START_CPUS = 1


def _get(cfg, key: str) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, key, default=None)


def logger_names(value: Any) -> list[str]:
    """``trainer.logger`` as a list of backend names (verl accepts a string or a list)."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [part.strip().strip("'\"") for part in text[1:-1].split(",") if part.strip()]
        return [text] if text else []
    return [str(v) for v in value]


def ray_cpus_needed(storage_units: int, gpus: int) -> int:
    """Ray CPUs the v1 trainer holds at once: the TransferQueue controller and storage units, the placement
    groups of ``gpus`` workers, and one to start each remaining actor."""
    return TQ_CONTROLLER_CPUS + TQ_UNIT_CPUS * storage_units + PLACEMENT_CPUS_PER_GPU * gpus + ACTOR_START_CPUS


def local_cpus() -> int:
    """CPUs this process may run on (what Ray counts for a local cluster without ``num_cpus``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cluster_resource(name: str) -> float | None:
    """How much of ``name`` (``"CPU"``, ``"GPU"``) the running Ray cluster has (``RAY_ADDRESS`` or a local
    ``ray start``), or None without one."""
    try:
        import ray

        ray.init(address=os.environ.get("RAY_ADDRESS", "auto"), logging_level="ERROR", log_to_driver=False)
    except Exception:  # noqa: BLE001 - no cluster reachable
        return None
    try:
        return float(ray.cluster_resources().get(name, 0))
    finally:
        ray.shutdown()  # only disconnects this driver; the cluster keeps running


def cluster_cpus() -> float | None:
    """CPUs of the running Ray cluster, or None without one."""
    return cluster_resource("CPU")


def ray_cpus(cfg) -> tuple[float | None, str]:
    """The Ray CPUs the launch will have, and where that number comes from."""
    configured = _get(cfg, "ray_kwargs.ray_init.num_cpus")
    if int(_get(cfg, "trainer.nnodes") or 1) > 1:
        return cluster_cpus(), "the Ray cluster"
    if configured:
        return float(configured), "ray_kwargs.ray_init.num_cpus"
    return float(local_cpus()), "this machine (Ray's default without ray_kwargs.ray_init.num_cpus)"


def sampler_problems(cfg) -> list[tuple[str, str]]:
    """Our sampler, when configured: its ``sampler_kwargs`` parse, and its class fits the trainer mode (both
    would otherwise fail only when verl builds the trainer, after Ray and the workers started)."""
    if _get(cfg, "trainer.v1.sampler.custom_sampler.path") not in SAMPLER_PATHS:
        return []
    from toolzero_verl.plugin.replay_buffer import parse_options

    problems = []
    try:
        parse_options(_get(cfg, "trainer.v1.sampler.sampler_kwargs"))
    except ValueError as exc:
        problems.append(("sampler", f"trainer.v1.sampler.sampler_kwargs: {exc}"))
    mode = _get(cfg, "trainer.v1.trainer_mode") or "sync"
    name = _get(cfg, "trainer.v1.sampler.custom_sampler.name")
    want = SYNC_SAMPLER if mode == "sync" else ASYNC_SAMPLER
    if name != want:
        problems.append(("sampler", f"trainer.v1.trainer_mode={mode} needs trainer.v1.sampler.custom_sampler.name="
                                    f"{want}, not {name} (recipes/common.sh picks it from the mode)"))
    return problems


def transfer_queue_problems(cfg, cpus: float | None = None, where: str = "") -> list[tuple[str, str]]:
    """Enough Ray CPUs for TransferQueue's actors next to verl's workers: a storage unit that cannot be
    scheduled makes the trainer wait forever in TransferQueue's start-up (``process_zmq_server_info``)."""
    units = int(_get(cfg, TQ_UNITS_KEY) or 0)
    gpus = int(_get(cfg, "trainer.n_gpus_per_node") or 0) * int(_get(cfg, "trainer.nnodes") or 1)
    if cpus is None:
        cpus, where = ray_cpus(cfg)
    if cpus is None:
        return []  # no cluster to ask: the GPU check already reports that
    need = ray_cpus_needed(units, gpus)
    if cpus >= need:
        return []
    fits = int(cpus) - ray_cpus_needed(0, gpus)
    fix = f"set TQ_STORAGE_UNITS={fits} ({TQ_UNITS_KEY}) or " if fits >= 1 else ""
    return [("transfer_queue", f"the run needs {need} Ray CPUs ({units} TransferQueue storage units + its controller "
                               f"+ {PLACEMENT_CPUS_PER_GPU} per GPU for {gpus} GPU(s) + 1 to start actors) but "
                               f"{where or 'Ray'} has {cpus:g}; it would hang at start-up: {fix}give Ray more "
                               f"logical CPUs with ray_kwargs.ray_init.num_cpus={need}")]


def file_logger_path(cfg, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The file logger's path and where it is set: the job's Ray runtime env, else this shell."""
    env = os.environ if environ is None else environ
    runtime = _get(cfg, f"{RUNTIME_ENV_VARS}.{FILE_LOGGER_ENV}")
    if runtime:
        return str(runtime), "runtime_env"
    if env.get(FILE_LOGGER_ENV):
        return env[FILE_LOGGER_ENV], "shell"
    return None, ""


def file_logger_problems(cfg, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """verl's ``FileLogger`` opens ``$VERL_FILE_LOGGER_PATH`` inside the TaskRunner actor without creating its
    folder (recipes/common.sh creates it after the checks); a path that cannot be written, or one given
    without the ``file`` logger, is reported here."""
    path, where = file_logger_path(cfg, environ)
    loggers = logger_names(_get(cfg, "trainer.logger"))
    if path is None:
        return []
    if "file" not in loggers:
        return [("logger", f"{FILE_LOGGER_ENV}={path} is set but trainer.logger={loggers} has no 'file': add it "
                           "through LOGGER (a trailing trainer.logger=… replaces the recipe's list), or FILE_LOGGER=0")]
    target = Path(path)
    if not target.is_absolute():
        return [("logger", f"{FILE_LOGGER_ENV}={path} is relative; Ray actors do not run in the launch directory: "
                           "give an absolute path")]
    existing = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path("/"))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return [("logger", f"{FILE_LOGGER_ENV}: cannot write into {target.parent} ({existing} is not a writable "
                           "folder); give RUN_DIR a writable place")]
    if where == "shell" and int(_get(cfg, "trainer.nnodes") or 1) > 1:
        return [("logger", f"{FILE_LOGGER_ENV} is set in this shell only; on a `ray start` cluster the actor that "
                           f"logs does not see it: pass +{RUNTIME_ENV_VARS}.{FILE_LOGGER_ENV}={path}")]
    return []


def problems(cfg, environ: Mapping[str, str] | None = None, cpus: float | None = None) -> list[tuple[str, str]]:
    """Every observability check, as ``(check, message)`` pairs."""
    return sampler_problems(cfg) + file_logger_problems(cfg, environ) + transfer_queue_problems(cfg, cpus)


def summary(cfg, environ: Mapping[str, str] | None = None) -> list[tuple[str, Any]]:
    """``(label, value)`` lines for the dry run: what will be logged and where."""
    path, _ = file_logger_path(cfg, environ)
    sampler = _get(cfg, "trainer.v1.sampler.custom_sampler.name")
    kwargs = _get(cfg, "trainer.v1.sampler.sampler_kwargs") or {}
    return [
        ("loggers", logger_names(_get(cfg, "trainer.logger"))),
        ("metrics file", path if path and "file" in logger_names(_get(cfg, "trainer.logger")) else "off"),
        ("per-step reward metrics", f"{sampler} {dict(kwargs)}" if sampler in (SYNC_SAMPLER, ASYNC_SAMPLER)
                                    else f"off ({sampler or 'verl ReplayBuffer'})"),
        ("TransferQueue units", _get(cfg, TQ_UNITS_KEY)),
        ("checkpoints", _get(cfg, "trainer.default_local_dir")),
    ]
