"""The verl plugin: the only part of toolzero-verl that imports verl.

``toolzero_verl.plugin`` is the ``verl.plugins`` entry point: importing it registers the
``toolzero`` reward manager and the ``toolzero_agent`` agent loop with verl (cheaply, through
post-import hooks; see :mod:`~toolzero_verl.plugin.registration`). The subpackage also holds what verl
loads by name:

- :mod:`~toolzero_verl.plugin.reward_manager`: the ``toolzero`` reward-loop manager;
- :mod:`~toolzero_verl.plugin.agent_loop`: the ``toolzero_agent`` agent loop (multi-turn episodes
  with executed tool calls, docs/multiturn.md);
- :mod:`~toolzero_verl.plugin.replay_buffer`: ``ToolZeroReplayBuffer``, per-step reward metrics
  (``trainer.v1.sampler.custom_sampler.path=pkg://toolzero_verl.plugin.replay_buffer``);
- :mod:`~toolzero_verl.plugin.preflight`: the recipes' checks and dry run.

>>> import toolzero_verl.plugin as plugin
>>> plugin.MANAGER_NAME, plugin.REGISTRY_MODULE
('toolzero', 'verl.experimental.reward_loop.reward_manager.registry')
"""

from toolzero_verl.plugin.registration import (
    MANAGER_NAME,
    REGISTRY_MODULE,
    install,
    is_registered,
    register,
    register_agent_loop,
    register_class,
)

__all__ = ["MANAGER_NAME", "REGISTRY_MODULE", "install", "is_registered", "register", "register_agent_loop",
           "register_class"]

install()
