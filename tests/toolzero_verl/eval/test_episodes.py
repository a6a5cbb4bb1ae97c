"""toolzero-eval on multi-turn episodes: turn-level and episode-level accuracy from the policy's turns, on the
real ToolACE dialogues (``toolzero-prep --agent-loop`` rows), next to single-turn rows in the same report."""

from __future__ import annotations

import json

from toolzero_verl.core.episode import gold_turn, load_episode
from toolzero_verl.core.formats import get_format
from toolzero_verl.eval import episodes
from toolzero_verl.eval.cli import EXIT_MISSING_DEPENDENCY, main
from toolzero_verl.eval.generations import parse_lines
from toolzero_verl.eval.score import ScoreOptions, score_rows

FMT = "hermes"


def gold_turns(row) -> list[str]:
    ep = load_episode(row["reward_model"]["ground_truth"])
    return [gold_turn(ep, p, get_format(FMT), think="") for p in ep.points]


def lines(rows, turns_of) -> list[str]:
    return [json.dumps({"index": r["extra_info"]["index"], "turns": turns_of(r)}) for r in rows]


def toolace(rows):
    return [r for r in rows if r["data_source"] == "toolace"]


def test_gold_turns_score_every_real_episode_exact(toolace_episode_rows):
    rows = toolace(toolace_episode_rows(FMT))
    report = score_rows(rows, parse_lines(lines(rows, gold_turns)))
    assert report.counts["rows_scored"] == len(rows) > 50 and not report.bad_rows
    group = report.by_category[episodes.CATEGORY]
    assert group.accuracy == 1.0 and report.overall.accuracy == 1.0
    comps = group.to_dict()["components"]
    assert comps[episodes.TURN_ACCURACY] == 1.0 and comps["ast"] == 1.0 and comps["sigma"] == 1.0
    assert comps["score"] >= 2.0  # format 1 + strict 1 (+ 0.3 per multi-call step)


def test_a_missing_last_turn_fails_the_episode_but_keeps_the_points_met(toolace_episode_rows):
    rows = toolace(toolace_episode_rows(FMT))
    report = score_rows(rows, parse_lines(lines(rows, lambda r: gold_turns(r)[:-1])))
    assert report.overall.accuracy == 0.0
    for s in report.scores:
        n = len(load_episode(s.row.gt_raw).points)
        assert s.components[episodes.TURN_ACCURACY] == (n - 1) / n
        assert s.kind == "episode_failed" and s.error == "episode:not_exact"


def test_a_wrong_turn_then_a_retry_meets_every_point_but_is_not_an_exact_episode(toolace_episode_rows):
    rows = [r for r in toolace(toolace_episode_rows(FMT)) if load_episode(r["reward_model"]["ground_truth"])
            .n_gold_calls][:10]
    bad_call = '<tool_call>{"name": "nope", "arguments": {}}</tool_call>'
    report = score_rows(rows, parse_lines(lines(rows, lambda r: [bad_call, *gold_turns(r)])))
    assert report.overall.accuracy == 0.0
    assert all(s.components[episodes.TURN_ACCURACY] == 1.0 for s in report.scores)
    assert all(s.components["invalid"] > 0 for s in report.scores)


def test_episode_and_single_turn_rows_in_one_report(toolace_episode_rows):
    episode_row = toolace(toolace_episode_rows(FMT))[0]
    single = {"data_source": "demo", "reward_model": {"ground_truth": json.dumps(
        {"calls": [{"name": "f", "arguments": {"x": 1}}]})}, "extra_info": {"index": 10 ** 6, "output_format": FMT}}
    gens = parse_lines([*lines([episode_row], gold_turns),
                        json.dumps({"index": 10 ** 6, "response": '<tool_call>{"name": "f", "arguments": {"x": 1}}'
                                                                  '</tool_call>'})])
    report = score_rows([episode_row, single], gens)
    assert report.by_category["episode"].accuracy == 1.0 and report.by_category["single"].accuracy == 1.0
    assert episodes.TURN_ACCURACY not in report.by_category["single"].to_dict()["components"]


def test_generation_line_shapes_for_episodes(toolace_episode_rows):
    row = toolace(toolace_episode_rows(FMT))[0]
    idx = row["extra_info"]["index"]
    record = {"index": idx, "toolzero_episode": {"turns": gold_turns(row), "calls": 9}}  # the loop's own record
    plain = {"index": idx, "response": gold_turns(row)[0]}  # a one-turn episode
    broken = {"index": idx, "turns": [1, 2]}  # not strings: falls back to a response, of which there is none
    gens = parse_lines([json.dumps(o) for o in (record, plain, broken)])
    assert [g.turns is not None for g in gens.items] == [True, False]
    assert [b.reason for b in gens.malformed] == ["no_response"]
    report = score_rows([row], gens)
    first, second = report.scores
    assert first.correct and not second.correct
    n = len(load_episode(row["reward_model"]["ground_truth"]).points)
    assert second.components[episodes.TURN_ACCURACY] == 1 / n


def test_single_turn_reward_options_do_not_leak_into_episodes(toolace_episode_rows):
    rows = toolace(toolace_episode_rows(FMT))[:3]
    report = score_rows(rows, parse_lines(lines(rows, gold_turns)),
                        ScoreOptions(reward="toolrl", reward_kwargs=(("matching", "greedy"),)))
    assert report.overall.accuracy == 1.0


def test_hostile_turns_score_without_raising(toolace_episode_rows):
    rows = toolace(toolace_episode_rows(FMT))[:3]
    hostile = ["<tool_call>" + "[" * 5000, "\x00" * 100, "<tool_call>{}</tool_call>" * 200] * 30  # beyond MAX_TURNS
    report = score_rows(rows, parse_lines(lines(rows, lambda r: hostile)))
    assert report.overall.accuracy == 0.0 and report.counts["responses_scored"] == 3
    assert all(s.components["n_turns"] == episodes.MAX_TURNS for s in report.scores)


def test_cli_scores_episode_rows_and_generates_them_only_with_verl_and_vllm(toolace_episode_rows, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = toolace(toolace_episode_rows(FMT))[:5]
    data, gens, out = tmp_path / "ep.parquet", tmp_path / "g.jsonl", tmp_path / "m.json"
    pq.write_table(pa.Table.from_pylist(rows), data)
    gens.write_text("\n".join(lines(rows, gold_turns)) + "\n")
    assert main(["score", "--data", str(data), "--generations", str(gens), "--json-out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["by_category"]["episode"]["accuracy"] == 1.0
    assert metrics["by_category"]["episode"]["components"][episodes.TURN_ACCURACY] == 1.0
    code = main(["score", "--data", str(data), "--generations", str(tmp_path / "new.jsonl"), "--generate",
                 "--model", str(tmp_path)])
    # episode rows run in the training agent loop on vLLM's async engine (test_episode_generate.py); neither
    # vLLM nor (in the fast tier) verl is installed here: exit 3 saying what is needed and what else to do
    err = capsys.readouterr().err
    assert code == EXIT_MISSING_DEPENDENCY and "needs both verl and vLLM" in err and "EpisodeSession" in err


def test_the_loops_counts_in_a_line_become_the_rewards_and_hostile_ones_are_dropped(toolace_episode_rows):
    rows = toolace(toolace_episode_rows(FMT))[:2]
    good = {"calls": 2, "errors": 1, "tool_turns": 3, "user_turns": 1, "stop": "turn_limit"}
    hostile = {"calls": float("inf"), "errors": -1, "tool_turns": True, "user_turns": "2", "stop": "rm -rf"}
    text = [json.dumps({"index": r["extra_info"]["index"], "turns": gold_turns(r), "toolzero_episode": rec})
            for r, rec in zip(rows, (good, hostile))]
    report = score_rows(rows, parse_lines(text))
    first, second = (s.components for s in sorted(report.scores, key=lambda s: s.row.pos))
    assert (first["tool_calls"], first["tool_errors"], first["tool_turns"], first["user_turns"]) == (2, 1, 3, 1)
    assert first["truncated"] == 1.0  # the loop stopped at its turn limit
    assert all(second[k] == -1.0 for k in ("tool_calls", "tool_errors", "tool_turns", "user_turns"))
    assert second["truncated"] == 0.0 and second["ast"] == 1.0
