"""Tool execution for multi-turn episodes, without verl: executors and the episode session.

- :mod:`~toolzero_verl.tools.executors`: the :class:`Executor` base class and its registry;
- :mod:`~toolzero_verl.tools.replay`, :mod:`~toolzero_verl.tools.simulate`: the built-in executors;
- :mod:`~toolzero_verl.tools.session`: the state machine of one episode (parse the policy's turn,
  execute its calls with bounded time and output, feed back tool turns and the user's next requests,
  stop at the final answer or the turn limit). verl's agent loop (``toolzero_verl/plugin/agent_loop.py``)
  and ``toolzero-eval generate`` both drive it.

This floor imports only :mod:`toolzero_verl.core` (docs/architecture.md).
"""

from toolzero_verl.tools import replay, simulate  # noqa: F401 - registers the built-in executors
from toolzero_verl.tools.executors import EXECUTORS, Executor, ToolResult, get_executor, register_executor

__all__ = ["EXECUTORS", "Executor", "ToolResult", "get_executor", "register_executor"]
