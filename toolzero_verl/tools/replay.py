"""The ``replay`` executor: recorded results for the calls the corpus recorded, error texts for the rest.

ToolACE records what every tool returned (its ``tool`` turns). A call that matches a recorded gold call
under our matcher (BFCL semantics, :func:`toolzero_verl.core.matching.check_call`: the same function,
the required parameters, values equal after BFCL's string normalisation, optional parameters left at
their defaults) gets that call's recorded result. Any other call that passes the schema check gets an
error text saying that nothing was recorded for those arguments, so the policy learns to look again
at the request and at the earlier results. A gold call whose result the corpus did not record (a
dialogue that ends on a call) gets a synthetic result (:mod:`toolzero_verl.tools.simulate`).

When several recorded calls match (the same call made twice in a dialogue), the first one not yet
served is used, then the first one again.

>>> from toolzero_verl.core.episode import load_episode
>>> ep = load_episode({"episode": {"segments": [{"user": None, "steps": [{"calls": [{"name": "w",
...     "arguments": {"city": "Paris"}}], "results": ['{"name": "w", "results": {"temp": 21}}']}]}]},
...     "tools": [{"name": "w", "parameters": {"properties": {"city": {"type": "string"}}, "required": ["city"]}}]})
>>> r = Replay(ep)
>>> r.execute(ToolCall("w", {"city": "paris"}))          # BFCL's normalisation: case and spaces
'{"name": "w", "results": {"temp": 21}}'
>>> r.execute(ToolCall("w", {"city": "Lyon"})).error
'no_recorded_result'
"""

from __future__ import annotations

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import Episode
from toolzero_verl.core.ground_truth import derive_possible_answers
from toolzero_verl.core.matching import check_call
from toolzero_verl.tools.executors import NO_RECORDED_RESULT, Executor, ToolResult, failure, register_executor
from toolzero_verl.tools.simulate import simulated_result

NO_MATCH_MESSAGE = ("no recorded result for these arguments: check the values against the user's request and "
                    "the earlier results")


def replay_plan(episode: Episode) -> tuple[tuple[str, dict, dict | None, str | None], ...]:
    """``(gold name, allowed values per parameter, tool schema, recorded result)`` per recorded call,
    computed once per episode."""
    try:
        return episode._memo["replay_plan"]
    except KeyError:
        pass
    plan = []
    for call, result in episode.recorded:
        possible = derive_possible_answers([call], episode.tools)[0][call.name]
        plan.append((call.name, possible, episode.schema(call.name), result))
    episode._memo["replay_plan"] = plan = tuple(plan)
    return plan


@register_executor("replay")
class Replay(Executor):
    """Serves recorded results; remembers which recorded calls it served in this episode."""

    inline = True

    def __init__(self, episode: Episode):
        super().__init__(episode)
        self.plan = replay_plan(episode)
        self.served = [False] * len(self.plan)

    def execute(self, call: ToolCall) -> str | ToolResult:
        hits = [i for i, (name, possible, schema, _) in enumerate(self.plan)
                if name == call.name and check_call(call, name, possible, schema) is None]
        if not hits:
            return failure(call.name, NO_RECORDED_RESULT, NO_MATCH_MESSAGE)
        index = next((i for i in hits if not self.served[i]), hits[0])
        self.served[index] = True
        result = self.plan[index][3]
        return simulated_result(call) if result is None else result
