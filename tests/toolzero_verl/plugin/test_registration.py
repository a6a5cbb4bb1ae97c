"""Plugin registration with verl 0.9.1: entry point, env-var switches, idempotence, loud failures.

The discovery tests run ``import verl`` in fresh interpreters (in parallel: each takes seconds),
because plugin discovery happens once, inside ``import verl``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

REGISTRY = "verl.experimental.reward_loop.reward_manager.registry"

# Prints what a fresh process sees right after `import verl`, then after a registry lookup.
PROBE = f"""
import json, sys
import verl
facts = {{
    "plugin_loaded": "toolzero_verl.plugin" in sys.modules,
    "registry_loaded_by_import_verl": "{REGISTRY}" in sys.modules,
}}
from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
from {REGISTRY} import REWARD_MANAGER
facts["registered"] = "toolzero" in REWARD_MANAGER
facts["class"] = REWARD_MANAGER["toolzero"].__module__ if facts["registered"] else None
facts["builtins_intact"] = all(n in REWARD_MANAGER for n in ("naive", "dapo", "gdpo", "rate_limited", "remote"))
print("FACTS" + json.dumps(facts))
"""

SCENARIOS = {
    "entry_point": {},
    "plugins_off": {"VERL_USE_EXTERNAL_PLUGINS": "none"},
    "plugins_off_env_module": {
        "VERL_USE_EXTERNAL_PLUGINS": "none",
        "VERL_USE_EXTERNAL_MODULES": "toolzero_verl.plugin",
    },
}


@pytest.fixture(scope="module")
def discovery() -> dict[str, dict]:
    """Run :data:`PROBE` once per scenario, all processes at once."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("VERL_USE_EXTERNAL")}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", PROBE],
            env={**base, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, extra in SCENARIOS.items()
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        line = next((x for x in out.splitlines() if x.startswith("FACTS")), None)
        assert proc.returncode == 0 and line, f"{name}: rc={proc.returncode}\n{err[-3000:]}"
        results[name] = json.loads(line[len("FACTS") :])
    return results


def test_entry_point_is_declared_as_a_module():
    (ep,) = [ep for ep in entry_points(group="verl.plugins") if ep.name == "toolzero"]
    assert ep.value == "toolzero_verl.plugin"  # a module: registration is an import side effect


def test_import_verl_registers_through_the_entry_point(discovery):
    facts = discovery["entry_point"]
    assert facts["plugin_loaded"] and facts["registered"] and facts["builtins_intact"]
    assert facts["class"] == "toolzero_verl.plugin.reward_manager"


def test_plugin_does_not_load_verls_registry_during_import_verl(discovery):
    """Cheap: the registry (Ray, aiohttp, the reward-loop package) loads only when someone looks it up."""
    assert discovery["entry_point"]["registry_loaded_by_import_verl"] is False


def test_plugins_none_disables_it(discovery):
    facts = discovery["plugins_off"]
    assert not facts["plugin_loaded"] and not facts["registered"] and facts["builtins_intact"]


def test_external_modules_env_var_registers_it(discovery):
    facts = discovery["plugins_off_env_module"]
    assert facts["plugin_loaded"] and facts["registered"]


# --- in-process: idempotence, pkg:// and file paths, loud failures --------------------------------


@pytest.fixture(scope="module")
def registry():
    import toolzero_verl.plugin.registration as plugin

    assert plugin.register()
    return sys.modules[REGISTRY]


def test_registration_is_idempotent(registry):
    import importlib

    import toolzero_verl.plugin.registration as plugin
    from toolzero_verl.plugin.reward_manager import ToolZeroRewardManager

    importlib.reload(plugin)
    assert plugin.register() and plugin.register()
    assert plugin.register_class(ToolZeroRewardManager)
    assert registry.REWARD_MANAGER["toolzero"] is ToolZeroRewardManager
    assert not any(type(f).__name__ == "_PostImportHook" for f in sys.meta_path)  # hook removed after firing


def test_pkg_and_file_paths_do_not_break_registration(registry):
    """verl loads ``pkg://`` through sys.modules but re-executes file paths under a hashed name."""
    from pathlib import Path

    from verl.trainer.ppo.reward import resolve_reward_manager_cls
    from verl.utils.import_utils import load_extern_object

    import toolzero_verl
    from toolzero_verl.plugin.reward_manager import ToolZeroRewardManager

    pkg_dir = Path(toolzero_verl.__file__).parent
    assert load_extern_object("pkg://toolzero_verl.plugin", "register")()
    assert (
        load_extern_object("pkg://toolzero_verl.plugin.reward_manager", "ToolZeroRewardManager")
        is ToolZeroRewardManager
    )
    copy = load_extern_object(str(pkg_dir / "plugin" / "reward_manager.py"), "ToolZeroRewardManager")  # re-executed
    assert copy is not ToolZeroRewardManager
    assert load_extern_object(str(pkg_dir / "plugin" / "registration.py"), "register")()
    assert registry.REWARD_MANAGER["toolzero"] is ToolZeroRewardManager  # first registration kept, no raise

    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {
            "reward": {
                "reward_manager": {
                    "source": "importlib",
                    "name": "ToolZeroRewardManager",
                    "module": {"path": "pkg://toolzero_verl.plugin.reward_manager"},
                }
            }
        }
    )
    assert resolve_reward_manager_cls(cfg) is ToolZeroRewardManager


def test_a_foreign_class_under_our_name_is_reported_not_replaced(registry, caplog):
    import toolzero_verl.plugin.registration as plugin
    from toolzero_verl.plugin.reward_manager import ToolZeroRewardManager

    class Impostor(registry.RewardManagerBase):
        async def run_single(self, data):
            return {}

    registry.REWARD_MANAGER["toolzero"] = Impostor
    try:
        with caplog.at_level(logging.WARNING, logger="toolzero_verl.plugin"):
            assert plugin.register_class(ToolZeroRewardManager) is False
        assert registry.REWARD_MANAGER["toolzero"] is Impostor
        assert "already taken" in caplog.text
    finally:
        registry.REWARD_MANAGER["toolzero"] = ToolZeroRewardManager


def test_failures_are_logged_at_warning_not_raised(registry, caplog, monkeypatch):
    """verl logs plugin errors at DEBUG; ours must be visible."""
    import toolzero_verl.plugin.registration as plugin

    monkeypatch.setattr(plugin, "MANAGER_MODULE", "toolzero_verl.no_such_module")
    monkeypatch.delitem(registry.REWARD_MANAGER, "toolzero")
    try:
        with caplog.at_level(logging.WARNING, logger="toolzero_verl.plugin"):
            assert plugin.register() is False
        assert "could not register" in caplog.text and "no_such_module" in caplog.text
    finally:
        monkeypatch.undo()
    assert plugin.register() and registry.REWARD_MANAGER["toolzero"].__name__ == "ToolZeroRewardManager"


def test_core_library_imports_without_verl():
    """The reward library must not import verl, torch or ray; only the plugin modules do (docs/architecture.md)."""
    code = (
        "import sys, toolzero_verl, toolzero_verl.rewards.scoring, toolzero_verl.plugin\n"
        "from toolzero_verl import compute_score\n"
        "compute_score('d', '<think>x</think><answer>[]</answer>', '{\"calls\": []}', {'split': 'test'})\n"
        "heavy = sorted(m for m in ('verl', 'torch', 'ray', 'transformers') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_documented_ray_runtime_env_override_composes():
    """docs/verl.md: how `ray start` clusters get the env var (verl does not forward it)."""
    from .conftest import compose_ppo_config

    cfg = compose_ppo_config(
        ["+ray_kwargs.ray_init.runtime_env.env_vars.VERL_USE_EXTERNAL_MODULES=toolzero_verl.plugin"]
    )
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars.VERL_USE_EXTERNAL_MODULES == "toolzero_verl.plugin"
