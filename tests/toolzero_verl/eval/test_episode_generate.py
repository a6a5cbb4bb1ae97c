"""``toolzero-eval generate`` on episode rows: the training agent loop (``toolzero_agent``, verl's composed config,
verl's Continuous Token builder, the real session and replay executor) on real ToolACE dialogues
(``toolzero-prep --agent-loop``), with only vLLM's engine scripted.

:class:`ScriptedEngine` stands in for ``vllm.v1.engine.async_llm.AsyncLLM`` behind our adapter
(``toolzero_verl.plugin.episode_rollout.EngineServer``): its ``generate`` yields request outputs with the next
scripted turn's token ids of the episode a request belongs to (found by the episode's first prompt, which
every later request of that episode extends), so a test knows what the policy said and what it was shown.
Everything runs through ``toolzero-eval generate``'s command line, then ``toolzero-eval score``.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from toolzero_verl.core.episode import gold_turn, load_episode
from toolzero_verl.core.formats import get_format
from toolzero_verl.eval import episode_generate as eg
from toolzero_verl.eval.cli import EXIT_BAD_INPUT, EXIT_GENERATION_FAILED, EXIT_MISSING_DEPENDENCY, main
from toolzero_verl.eval.episodes import TURN_ACCURACY

FMT = "hermes"
OVERLAP_WAIT_S = 2.0  # how long the scripted engine holds a lone request for a concurrent one to arrive
END = "<|im_end|>"
# ToolACE's recorded results and the tiny tokenizer's 2-3 characters per token: room for whole gold dialogues
ROOMY = ["--max-prompt-length", "8192", "--response-length", "32768", "--max-tool-response-length", "100000",
         "--max-parallel-calls", "8"]


def gold(row) -> list[str]:
    ep = load_episode(row["reward_model"]["ground_truth"])
    return [gold_turn(ep, p, get_format(FMT), think="") for p in ep.points]


class ScriptedEngine:
    """``AsyncLLM.generate`` for scripted episodes: ``scripts`` maps an episode's first prompt (token ids) to its
    turns; a request gets the next turn of the episode whose first prompt starts it (the last turn again when
    the script is spent), ending in ``<|im_end|>`` and cut at ``max_tokens`` as vLLM cuts it. With ``hold`` a
    lone request waits (up to ``OVERLAP_WAIT_S``) for a second one, so a concurrent runner shows as overlap."""

    def __init__(self, tokenizer, scripts: dict[tuple[int, ...], list[str]], seed: int = 0, hold: bool = False):
        self.tok, self.scripts, self.hold = tokenizer, scripts, hold
        self.requests: list[dict] = []  # every request: episode (its first prompt), prompt ids, params, output ids
        self.in_flight = self.max_in_flight = 0
        self.rng = random.Random(seed)

    def episode_of(self, prompt_ids: list[int]) -> tuple[int, ...]:
        (key,) = [k for k in self.scripts if tuple(prompt_ids[: len(k)]) == k]
        return key

    async def generate(self, prompt, sampling_params, request_id):
        ids = prompt["prompt_token_ids"]
        key = self.episode_of(ids)
        turn = sum(r["episode"] == key for r in self.requests)
        script = self.scripts[key]
        text = script[min(turn, len(script) - 1)]
        out = self.tok.encode(text, add_special_tokens=False) + [self.tok.convert_tokens_to_ids(END)]
        out = out[: sampling_params["max_tokens"]]
        self.requests.append({"episode": key, "request_id": request_id, "prompt_ids": list(ids),
                              "params": dict(sampling_params), "output": out})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.overlap = getattr(self, "overlap", None) or asyncio.Event()
        try:
            if self.in_flight > 1:
                self.overlap.set()
            elif self.hold:  # hold a lone request a moment: a concurrent runner sends another one meanwhile
                try:
                    await asyncio.wait_for(self.overlap.wait(), OVERLAP_WAIT_S)
                except asyncio.TimeoutError:
                    pass
            for _ in range(self.rng.randint(1, 3)):  # several steps, so concurrent episodes interleave
                await asyncio.sleep(0)
            yield SimpleNamespace(outputs=[SimpleNamespace(token_ids=out, logprobs=None, finish_reason="stop")])
        finally:
            self.in_flight -= 1


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """The tiny offline tokenizer as a checkpoint folder (a Qwen2 ``config.json``: the loop's token builder)."""
    from toolzero_verl.testing.tiny_tokenizer import build_tiny_tokenizer

    path = tmp_path_factory.mktemp("tiny_model")
    build_tiny_tokenizer(path)
    (path / "config.json").write_text(json.dumps({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}))
    return path


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def dialogues(toolace_episode_rows) -> list[dict]:
    """Real ToolACE dialogues with at least one executed call and a follow-up request (a few, for speed)."""
    rows = [r for r in toolace_episode_rows(FMT) if r["data_source"] == "toolace"]
    rich = [r for r in rows if (lambda ep: ep.n_gold_calls >= 1 and len(ep.segments) >= 2)(
        load_episode(r["reward_model"]["ground_truth"]))]
    assert len(rich) >= 3
    return rich[:3]


def write_parquet(rows, path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), str(path))
    return path


def first_prompt(tokenizer, row) -> tuple[int, ...]:
    ids = tokenizer.apply_chat_template([dict(m) for m in row["prompt"]], add_generation_prompt=True, tokenize=True)
    return tuple(ids["input_ids"] if hasattr(ids, "keys") else ids)


@pytest.fixture
def engine_for(monkeypatch):
    """``engine_for(engine)``: ``toolzero-eval generate`` runs on ``engine`` instead of a vLLM ``AsyncLLM``
    (vLLM is not installed in this venv); the engine arguments it would have started vLLM with are recorded."""
    import toolzero_verl.plugin.episode_rollout as rollout

    started: list[dict] = []

    def install(engine, max_model_len: int = 1_000_000):
        async def run_on_engine(engine_args, work):
            started.append(dict(engine_args))
            return await work(engine, lambda **params: dict(params), max_model_len)

        monkeypatch.setattr(rollout, "run_on_vllm", run_on_engine)
        monkeypatch.setattr(eg, "missing_stack", lambda: [])
        return started

    return install


def generate(data: Path, model: Path, out: Path, *extra: str) -> int:
    return main(["generate", "--data", str(data), "--model", str(model), "--out", str(out), *extra])


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.verl
def test_turns_written_are_the_engines_outputs_and_tool_results_reach_the_next_request(
        dialogues, model_dir, tokenizer, engine_for, tmp_path):
    row = dialogues[0]
    engine = ScriptedEngine(tokenizer, {first_prompt(tokenizer, row): gold(row)})
    started = engine_for(engine)
    data, out = write_parquet([row], tmp_path / "ep.parquet"), tmp_path / "gen.jsonl"
    assert generate(data, model_dir, out, *ROOMY, "--save-prompts", "--dtype", "float32", "--enforce-eager") == 0
    (line,) = read_lines(out)
    # the turns written are what the engine produced, decoded as verl's reward managers decode them
    assert line["index"] == row["extra_info"]["index"]
    assert line["turns"] == [tokenizer.decode(r["output"], skip_special_tokens=True) for r in engine.requests]
    assert line["turns"] == gold(row)
    record = line["toolzero_episode"]
    ep = load_episode(row["reward_model"]["ground_truth"])
    assert record["stop"] == "answered" and record["turns"] == line["turns"] and record["errors"] == 0
    assert record["calls"] == ep.n_gold_calls and record["user_turns"] == len(ep.segments) - 1
    # each request extends the previous one with its output and the replayed turns after it (one token stream)
    reqs = engine.requests
    for before, after in zip(reqs, reqs[1:]):
        assert after["prompt_ids"][: len(before["prompt_ids"]) + len(before["output"])] == (
            before["prompt_ids"] + before["output"])
    step = ep.segments[0].steps[0]
    shown = tokenizer.decode(reqs[1]["prompt_ids"][len(reqs[0]["prompt_ids"]) + len(reqs[0]["output"]):])
    assert "<|im_start|>tool\n" in shown
    for result in step.results:
        assert json.dumps(json.loads(result), ensure_ascii=False) in shown
    # --save-prompts: the first request's prompt and the episode's final token stream
    assert line["prompt_token_ids"] == reqs[0]["prompt_ids"] == list(first_prompt(tokenizer, row))
    assert line["prompt_token_ids"] + line["response_token_ids"] == reqs[-1]["prompt_ids"] + reqs[-1]["output"]
    assert len(line["response_mask"]) == len(line["response_token_ids"])
    assert line["prompt"] == tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
    # verl's validation decoding reached the engine: greedy, each turn's budget what is left of the episode's
    assert {(r["params"]["temperature"], r["params"]["top_p"], r["params"]["top_k"]) for r in reqs} == {(0.0, 1.0, -1)}
    assert reqs[0]["params"]["max_tokens"] == 32768 and reqs[0]["params"]["logprobs"] is None
    assert len({r["request_id"] for r in reqs}) == len(reqs)  # one engine request id per turn
    assert started == [{"model": str(model_dir), "tensor_parallel_size": 1, "dtype": "float32",
                        "gpu_memory_utilization": 0.9, "trust_remote_code": False, "enforce_eager": True}]
    manifest = json.loads(out.with_name("gen.manifest.json").read_text())
    assert manifest["agent_loop"]["settings"]["response_length"] == 32768
    assert manifest["agent_loop"]["settings"]["max_assistant_turns"] == 8  # the multi-turn recipe's default
    assert manifest["failed_episodes"] == [] and manifest["timing"]["episodes"] == 1
    assert "max_tokens" not in manifest["sampling"]


@pytest.mark.verl
def test_limits_apply(dialogues, model_dir, tokenizer, engine_for, tmp_path):
    row = dialogues[0]
    call = gold(row)[0]
    engine = ScriptedEngine(tokenizer, {first_prompt(tokenizer, row): [call]})  # calls again and again
    engine_for(engine)
    data, out = write_parquet([row], tmp_path / "ep.parquet"), tmp_path / "gen.jsonl"
    assert generate(data, model_dir, out, *ROOMY[:4], "--max-assistant-turns", "3",
                    "--max-tool-response-length", "40") == 0
    (line,) = read_lines(out)
    record = line["toolzero_episode"]
    assert len(engine.requests) == 3 and record["stop"] == "turn_limit" and record["tool_turns"] == 2
    shown = tokenizer.decode(engine.requests[1]["prompt_ids"])
    assert "...(truncated)..." in shown  # each result cut to 40 characters

    # the episode's token budget: the first turn gets all of it, the episode stops when it is spent
    engine = ScriptedEngine(tokenizer, {first_prompt(tokenizer, row): [call]})
    engine_for(engine)
    assert generate(data, model_dir, out, "--max-prompt-length", "8192", "--response-length", "60") == 0
    (line,) = read_lines(out)
    assert engine.requests[0]["params"]["max_tokens"] == 60
    assert line["toolzero_episode"]["stop"] == "response_length"


@pytest.mark.verl
def test_concurrent_episodes_do_not_mix(dialogues, model_dir, tokenizer, engine_for, tmp_path):
    a, b = dialogues[0], dialogues[1]
    wrong = '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>'
    scripts = {first_prompt(tokenizer, a): gold(a), first_prompt(tokenizer, b): [wrong] + gold(b)}
    engine = ScriptedEngine(tokenizer, scripts, seed=3, hold=True)
    engine_for(engine)
    data, out = write_parquet([a, b], tmp_path / "ep.parquet"), tmp_path / "gen.jsonl"
    assert generate(data, model_dir, out, *ROOMY) == 0
    assert engine.max_in_flight == 2  # both episodes were in the engine at once
    by_index = {line["index"]: line for line in read_lines(out)}
    assert by_index[a["extra_info"]["index"]]["turns"] == gold(a)
    assert by_index[b["extra_info"]["index"]]["turns"] == [wrong] + gold(b)
    assert by_index[b["extra_info"]["index"]]["toolzero_episode"]["errors"] == 1
    # each episode's requests form one token stream of its own: every request extends the episode's previous
    # request and that request's output, however the two episodes' requests interleaved in the engine
    for key in scripts:
        own = [r for r in engine.requests if r["episode"] == key]
        assert own[0]["prompt_ids"] == list(key)
        for before, after in zip(own, own[1:]):
            assert after["prompt_ids"][: len(before["prompt_ids"]) + len(before["output"])] == (
                before["prompt_ids"] + before["output"])
    assert [r["episode"] for r in engine.requests] != sorted(r["episode"] for r in engine.requests)  # interleaved


@pytest.mark.verl
def test_score_reads_the_generated_episodes(dialogues, model_dir, tokenizer, engine_for, tmp_path):
    wrong_first = dialogues[1]
    bad_call = '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>'
    scripts = {first_prompt(tokenizer, dialogues[0]): gold(dialogues[0]),
               first_prompt(tokenizer, wrong_first): [bad_call, "I could not find it.", "Goodbye."]}
    engine_for(ScriptedEngine(tokenizer, scripts))
    rows = dialogues[:2]
    data, out = write_parquet(rows, tmp_path / "ep.parquet"), tmp_path / "gen.jsonl"
    assert generate(data, model_dir, out, *ROOMY) == 0
    metrics = tmp_path / "m.json"
    assert main(["score", "--data", str(data), "--generations", str(out), "--json-out", str(metrics)]) == 0
    report = json.loads(metrics.read_text())
    category = report["by_category"]["episode"]
    assert category["accuracy"] == 0.5  # one exact episode of two
    assert 0.0 < category["components"][TURN_ACCURACY] < 1.0
    assert report["manifest"]["generation"]["agent_loop"]["name"] == "toolzero_agent"
    # the loop's counts reach the report: the gold dialogue's executed calls, the other's one failed call
    records = [line["toolzero_episode"] for line in read_lines(out)]
    for key in ("calls", "errors", "tool_turns", "user_turns"):
        expected = sum(r[key] for r in records) / len(records)
        assert category["components"]["tool_" + key if key in ("calls", "errors") else key] == expected, key
    assert records[1]["turns"][0] == bad_call and records[1]["errors"] == 1 and records[0]["errors"] == 0

    # the fully gold script alone: episode accuracy 1
    engine_for(ScriptedEngine(tokenizer, {first_prompt(tokenizer, r): gold(r) for r in dialogues}))
    data = write_parquet(dialogues, tmp_path / "gold.parquet")
    out = tmp_path / "gold.jsonl"
    assert generate(data, model_dir, out, *ROOMY) == 0
    assert main(["score", "--data", str(data), "--generations", str(out), "--json-out", str(metrics)]) == 0
    category = json.loads(metrics.read_text())["by_category"]["episode"]
    assert category["accuracy"] == 1.0 and category["components"][TURN_ACCURACY] == 1.0


@pytest.mark.verl
def test_an_engine_error_fails_its_episode_only_and_the_command(dialogues, model_dir, tokenizer, engine_for,
                                                                 tmp_path, capsys):
    a, b = sorted(dialogues[:2], key=lambda r: len(first_prompt(tokenizer, r)))
    engine = ScriptedEngine(tokenizer, {first_prompt(tokenizer, a): gold(a), first_prompt(tokenizer, b): gold(b)})
    # a context that holds a's first prompt but not b's: b fails in the engine adapter, a runs
    context = (len(first_prompt(tokenizer, a)) + len(first_prompt(tokenizer, b))) // 2
    assert len(first_prompt(tokenizer, a)) < context < len(first_prompt(tokenizer, b)), "pick rows of other lengths"
    engine_for(engine, max_model_len=context)
    data, out = write_parquet([a, b], tmp_path / "ep.parquet"), tmp_path / "gen.jsonl"
    assert generate(data, model_dir, out, "--max-prompt-length", "8192", "--response-length", "8") == (
        EXIT_GENERATION_FAILED)
    err = capsys.readouterr().err
    assert "row 1: episode failed: ContextFull" in err and "1 of 2 episode(s) failed" in err
    lines = {line["index"]: line for line in read_lines(out)}
    assert "turns" in lines[a["extra_info"]["index"]] and "error" in lines[b["extra_info"]["index"]]
    manifest = json.loads(out.with_name("gen.manifest.json").read_text())
    assert [f["position"] for f in manifest["failed_episodes"]] == [1]


@pytest.mark.verl
def test_a_prompt_over_max_prompt_length_fails_its_episode_instead_of_being_cut(dialogues, model_dir, tokenizer,
                                                                                engine_for, tmp_path, capsys):
    row = dialogues[0]
    n = len(first_prompt(tokenizer, row))
    engine = ScriptedEngine(tokenizer, {first_prompt(tokenizer, row): gold(row)})
    engine_for(engine)
    data, out = write_parquet([row], tmp_path / "ep.parquet"), tmp_path / "gen.jsonl"
    assert generate(data, model_dir, out, "--max-prompt-length", str(n - 1)) == EXIT_GENERATION_FAILED
    assert f"PromptTooLong: the prompt has {n} tokens, more than max_prompt_length={n - 1}" in capsys.readouterr().err
    assert engine.requests == []  # verl's loop would have left-truncated it and generated
    assert generate(data, model_dir, out, "--max-prompt-length", str(n), "--response-length", "8") == 0
    assert engine.requests[0]["prompt_ids"] == list(first_prompt(tokenizer, row))


def test_bad_input_is_refused_before_any_engine(toolace_episode_rows, tmp_path, capsys):
    """Runs without verl or vLLM: every check comes before the engine (the fast tier runs it)."""
    rows = [r for r in toolace_episode_rows(FMT) if r["data_source"] == "toolace"][:2]
    out = tmp_path / "gen.jsonl"
    # an empty parquet (the episode rows' schema, no row)
    import pyarrow as pa
    import pyarrow.parquet as pq

    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.Table.from_pylist(rows).slice(0, 0), str(empty))
    assert generate(empty, tmp_path, out) == EXIT_BAD_INPUT
    assert "has no rows" in capsys.readouterr().err
    # an episode row whose ground truth is broken: listed, not generated; nothing left -> exit 2
    broken = json.loads(json.dumps(rows[0]))
    broken["reward_model"]["ground_truth"] = '{"episode": {"segments": "not a list"}}'
    data = write_parquet([broken], tmp_path / "broken.parquet")
    assert generate(data, tmp_path, out) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "row 0: not generated: bad episode ground truth" in err and "no row of" in err
    # with a good row next to it, the good one goes on to the engine (here: vLLM missing, exit 3)
    data = write_parquet([broken, rows[1]], tmp_path / "mixed_ok.parquet")
    assert generate(data, tmp_path, out) == EXIT_MISSING_DEPENDENCY
    err = capsys.readouterr().err
    assert "row 0: not generated: bad episode ground truth" in err and "needs both verl and vLLM" in err
    # episode rows next to single-turn rows
    single = {**rows[1], "agent_name": None,
              "reward_model": {"style": "rule", "ground_truth": json.dumps({"calls": [], "tools": []})}}
    data = write_parquet([rows[0], single], tmp_path / "mixed.parquet")
    assert generate(data, tmp_path, out) == EXIT_BAD_INPUT
    assert "mixes 1 episode row(s)" in capsys.readouterr().err
    # a bad loop setting names the option
    data = write_parquet(rows, tmp_path / "ep.parquet")
    assert generate(data, tmp_path, out, "--max-assistant-turns", "0") == EXIT_BAD_INPUT
    assert "max_assistant_turns" in capsys.readouterr().err
    assert not out.exists()


def test_loop_defaults_are_the_multiturn_recipes_values():
    """``EpisodeSettings``' defaults read from the recipe a user trains episodes with (and the 7B recipe it
    runs, for the prompt length), so an evaluation with defaults runs the loop as that training did."""
    import re

    recipes = Path(__file__).resolve().parents[3] / "recipes"
    text = (recipes / "qwen7b_ggrpo_multiturn.sh").read_text() + (recipes / "qwen7b_ggrpo.sh").read_text()

    def default(name: str) -> int:  # the multi-turn recipe's value wins: it is set (exported) first
        return int(re.findall(r"\b%s=\$\{%s:-(\d+)\}" % (name, name), text)[0])

    s = eg.EpisodeSettings()
    assert (s.max_assistant_turns, s.max_user_turns, s.max_parallel_calls, s.max_tool_response_length,
            s.response_length, s.max_prompt_length) == (
        default("MAX_ASSISTANT_TURNS"), default("MAX_USER_TURNS"), default("MAX_PARALLEL_CALLS"),
        default("TOOL_RESPONSE_LENGTH"), default("MAX_RESPONSE_LENGTH"), default("MAX_PROMPT_LENGTH"))


@pytest.mark.verl
def test_the_engine_adapter_does_what_verls_vllm_server_does_with_a_request():
    """``EngineServer`` (token ids in, verl's ``TokenOutput`` out): ``max_tokens`` clamped to the context left,
    ``logprobs`` a flag that asks the engine for the sampled token's log-prob only, an aborted request
    reported as verl's server reports it, a full context refused."""
    from toolzero_verl.plugin.episode_rollout import ContextFull, EngineServer

    class Engine:
        def __init__(self, outputs):
            self.outputs, self.seen = outputs, []

        async def generate(self, prompt, params, request_id):
            self.seen.append((prompt, params, request_id))
            for out in self.outputs:
                yield out

    step = {5: SimpleNamespace(logprob=-0.25), 9: SimpleNamespace(logprob=-3.0)}
    done = SimpleNamespace(outputs=[SimpleNamespace(token_ids=[5, 9], logprobs=[step, step], finish_reason="stop")])
    partial = SimpleNamespace(outputs=[SimpleNamespace(token_ids=[5], logprobs=[step], finish_reason=None)])
    engine = Engine([partial, done])
    server = EngineServer(engine, lambda **p: p, max_model_len=10)
    out = asyncio.run(server.generate("ep", [1, 2, 3], {"temperature": 0.0, "max_tokens": 100, "logprobs": True}))
    assert (out.token_ids, out.log_probs, out.stop_reason) == ([5, 9], [-0.25, -3.0], "completed")
    prompt, params, request_id = engine.seen[0]
    assert prompt == {"prompt_token_ids": [1, 2, 3]} and params == {"temperature": 0.0, "max_tokens": 7, "logprobs": 0}
    out = asyncio.run(server.generate("ep", [1, 2, 3], {"max_tokens": 4}))
    assert out.log_probs is None and engine.seen[1][1] == {"max_tokens": 4, "logprobs": None}
    assert engine.seen[1][2] != request_id  # every engine request its own id

    aborted = Engine([SimpleNamespace(outputs=[SimpleNamespace(token_ids=[5], logprobs=None, finish_reason="abort")])])
    out = asyncio.run(EngineServer(aborted, dict, 10).generate("ep", [1], {"max_tokens": 2}))
    assert out.stop_reason == "aborted"
    out = asyncio.run(EngineServer(Engine([SimpleNamespace(outputs=[])]), dict, 10).generate("ep", [1], {}))
    assert (out.token_ids, out.stop_reason) == ([], "aborted")
    with pytest.raises(ContextFull):
        asyncio.run(EngineServer(Engine([done]), dict, 3).generate("ep", [1, 2, 3], {"max_tokens": 2}))
