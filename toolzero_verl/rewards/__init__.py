"""The rewards: GG-GRPO (Tool Zero, the default), ToolRL and Tool-N1, and ``compute_score``.

Importing this package registers the built-in rewards in :data:`REWARDS`
(:mod:`toolzero_verl.rewards.registry`); definitions and options of each: docs/rewards.md.
"""

from toolzero_verl.rewards import binary, episode, gg_grpo, toolrl  # noqa: F401 - registers the built-in rewards
from toolzero_verl.rewards.registry import REWARDS, RewardOptions, RewardSpec, ScoreInput, get_reward, register_reward
from toolzero_verl.rewards.scoring import compute_score

__all__ = ["REWARDS", "RewardOptions", "RewardSpec", "ScoreInput", "compute_score", "get_reward", "register_reward"]
