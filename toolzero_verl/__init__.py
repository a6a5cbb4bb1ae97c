"""toolzero-verl: GG-GRPO (Tool Zero), ToolRL and Tool-N1 rewards for tool-calling RL on verl.

The reward library imports without torch, ray or verl; only :mod:`toolzero_verl.plugin` and the
modules it registers import verl.

>>> from toolzero_verl import compute_score
>>> gt = '{"calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}'
>>> r = compute_score("demo", "<think>sum</think><answer>[add(a=1, b=2)]</answer>", gt,
...                   {"split": "test"})
>>> r["score"], r["ast"]
(2.0, 1.0)
"""

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import GroundTruth, load_ground_truth
from toolzero_verl.rewards.scoring import compute_score

__all__ = ["ToolCall", "GroundTruth", "load_ground_truth", "compute_score"]
__version__ = "0.1.0"
