"""Registration with verl: the ``toolzero`` reward manager and the ``toolzero_agent`` agent loop; cheap,
idempotent and loud.

verl 0.9 imports every ``verl.plugins`` entry point inside ``import verl`` (verl/__init__.py), so
:mod:`toolzero_verl.plugin`, which calls :func:`install`, is loaded in the driver and in every Ray
actor that unpickles a verl class. Older verl, or clusters whose workers do not see entry points,
load it with ``VERL_USE_EXTERNAL_MODULES=toolzero_verl.plugin`` (docs/verl.md, "Registration").

- **Cheap.** verl's reward-loop registry pulls in Ray, aiohttp and the reward-loop package (about
  +1.3 s per ``import verl``, measured with ``benchmarks/import_overhead.py``), and ``import verl``
  runs in every actor. So nothing here imports verl: :func:`install` puts post-import hooks that
  register our manager the moment anything imports ``verl.experimental.reward_loop.reward_manager.registry``
  (which every lookup in the registry does first), and our agent loop the moment anything imports
  ``verl.experimental.agent_loop.agent_loop`` (where verl's agent-loop registry lives; an
  ``AgentLoopWorker`` looks rows' ``agent_name`` up there). If a module is already imported, the
  registration happens at once.
- **Idempotent.** Installing twice, calling :func:`register` again, or loading
  ``toolzero_verl/plugin/reward_manager.py`` a second time by file path (verl re-executes such modules
  under a hashed name) keeps the first registration instead of raising verl's "already
  registered" ``ValueError``.
- **Loud.** verl logs plugin import errors at DEBUG, which nobody sees; every failure here is
  logged at WARNING and never propagates into ``import verl``.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
import threading

logger = logging.getLogger(__name__)

MANAGER_NAME = "toolzero"  # reward.reward_manager.name
REGISTRY_MODULE = "verl.experimental.reward_loop.reward_manager.registry"  # verl 0.7.1+ reward-loop registry
MANAGER_MODULE = "toolzero_verl.plugin.reward_manager"
MANAGER_CLASS = "ToolZeroRewardManager"
AGENT_LOOP_MODULE = "verl.experimental.agent_loop.agent_loop"  # verl's agent-loop registry (0.7+)
AGENT_LOOP_IMPL = "toolzero_verl.plugin.agent_loop"  # registers itself when imported

_lock = threading.RLock()


def register() -> bool:
    """Put ``toolzero`` into verl's reward-loop registry now; True when it is there afterwards.

    Imports the registry (and so verl's reward-loop package). Never raises: problems are logged
    at WARNING, because verl would hide them.
    """
    try:
        with _lock:
            import importlib

            importlib.import_module(REGISTRY_MODULE)  # fires the hook below if it was not imported yet
            return _register_loaded()
    except Exception as exc:  # noqa: BLE001 - a plugin must never break `import verl`
        _warn_failed(exc)
        return False


def register_class(cls: type) -> bool:
    """Register ``cls`` as ``toolzero`` unless an equivalent class already is (idempotent).

    "Equivalent" is the same object, or a class with our marker (a copy made by re-executing
    ``reward_manager.py`` under another module name): the first one stays. A foreign class
    under our name is left alone and reported.
    """
    registry = sys.modules.get(REGISTRY_MODULE)
    if registry is None:  # nothing can look the name up before the registry exists; the hook will come back
        return False
    with _lock:
        table = registry.REWARD_MANAGER
        existing = table.get(MANAGER_NAME)
        if existing is None:
            registry.register(MANAGER_NAME)(cls)
            return True
        if existing is cls or getattr(existing, "_toolzero_manager", False):
            return True
        logger.warning(
            "toolzero-verl: reward manager name %r is already taken by %s.%s; not overriding it",
            MANAGER_NAME,
            existing.__module__,
            existing.__qualname__,
        )
        return False


def is_registered() -> bool:
    """True when verl's registry is loaded and holds our manager (does not import anything)."""
    registry = sys.modules.get(REGISTRY_MODULE)
    cls = registry.REWARD_MANAGER.get(MANAGER_NAME) if registry is not None else None
    return bool(cls is not None and getattr(cls, "_toolzero_manager", False))


def _register_loaded() -> bool:
    """Called once the registry module exists: import our manager module, which registers itself."""
    module = sys.modules.get(MANAGER_MODULE)
    cls = getattr(module, MANAGER_CLASS, None) if module is not None else None
    if module is not None and cls is None:
        # reward_manager.py is itself mid-import (it imported verl's base class, which imported the
        # registry); its last line registers the class once it is defined.
        return False
    if cls is None:
        import importlib

        cls = getattr(importlib.import_module(MANAGER_MODULE), MANAGER_CLASS)
    return register_class(cls)


def _after_registry_import() -> None:
    try:
        _register_loaded()
    except Exception as exc:  # noqa: BLE001
        _warn_failed(exc)


def register_agent_loop() -> bool:
    """Put ``toolzero_agent`` into verl's agent-loop registry now (imports verl's agent loop); never raises."""
    try:
        import importlib

        module = importlib.import_module(AGENT_LOOP_IMPL)
        return module.register_agent_loop()
    except Exception as exc:  # noqa: BLE001 - a plugin must never break `import verl`
        logger.warning("toolzero-verl: could not register agent loop: %s: %s", type(exc).__name__, exc)
        return False


def _after_agent_loop_import() -> None:
    if AGENT_LOOP_IMPL not in sys.modules:  # importing it registers it
        register_agent_loop()


def _warn_failed(exc: BaseException) -> None:
    logger.warning("toolzero-verl: could not register reward manager %r: %s: %s", MANAGER_NAME, type(exc).__name__, exc)


class _LoaderWithCallback(importlib.abc.Loader):
    """Wraps the real loader of one module; runs ``callback`` right after the module body."""

    def __init__(self, loader, callback):
        self._loader = loader
        self._callback = callback

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._callback()

    def __getattr__(self, name):  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self._loader, name)


class _PostImportHook(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` finder that only ever answers for one module (its ``target``)."""

    def __init__(self, target: str, callback):
        self.target = target
        self.callback = callback

    def find_spec(self, fullname, path, target=None):
        if fullname != self.target:
            return None
        _remove_hook(self.target)  # fire once; later imports hit sys.modules anyway
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LoaderWithCallback(spec.loader, self.callback)
        return spec


def _remove_hook(target: str) -> None:
    # by type name: a second copy of this module (loaded by file path) has its own class object
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not (type(f).__name__ == "_PostImportHook" and getattr(f, "target", None) == target)]


def _hook(target: str, callback) -> None:
    """Run ``callback`` now if ``target`` is imported, else right after its import."""
    if target in sys.modules:
        callback()
        return
    if not any(type(f).__name__ == "_PostImportHook" and getattr(f, "target", None) == target for f in sys.meta_path):
        sys.meta_path.insert(0, _PostImportHook(target, callback))


def install() -> None:
    """Register now where verl's registries are loaded, else hook their imports; never raises."""
    try:
        _install()
    except Exception as exc:  # noqa: BLE001 - a plugin must never break `import verl`
        logger.warning("toolzero-verl: plugin setup failed: %s: %s", type(exc).__name__, exc)


def _install() -> None:
    with _lock:
        _hook(REGISTRY_MODULE, _after_registry_import)
        _hook(AGENT_LOOP_MODULE, _after_agent_loop_import)

