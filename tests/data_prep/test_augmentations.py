"""All augmentations together in the pipeline (data_prep.augmentations.apply) on the real corpus samples: counts
in report.json match the rows read back from the parquet, every row is valid and keeps the golden
property, runs are deterministic for a seed, and the CLI exposes every option."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from data_prep.augmentations.config import AUGMENTATIONS, MASKS, AugmentationConfig
from data_prep.pipeline import PrepConfig, run
from toolzero_verl.core.ground_truth import load_ground_truth

from .conftest import EXAMPLE_FILES, golden_failures

ALL_ON = AugmentationConfig(
    irrelevance_rate=0.5,
    concat_rate=0.5,
    hammer_mask_rate=0.3,
    name_mask_rate=0.4,
    reintroduce_rate=0.5,
    clarify_rate=1.0,
    correct_rate=0.5,
)


def _rows(out: Path) -> list[dict]:
    return [r for split in ("train", "test") for r in pd.read_parquet(out / f"{split}.parquet").to_dict("records")]


@pytest.fixture(scope="module")
def augmented_run(real_inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("augmented_out")
    report = run(
        PrepConfig(
            out=str(out),
            progress=False,
            test_size=0.1,
            augmentations=ALL_ON,
            **{k: str(v) for k, v in real_inputs.items()},
        )
    )
    return out, report


def test_report_matches_rows(augmented_run):
    out, _ = augmented_run
    saved = json.loads((out / "report.json").read_text())
    rows = _rows(out)
    tags = Counter()
    for r in rows:
        applied = [d for d in r["extra_info"]["augmentation"].split("+") if d]
        for augmentation in applied:
            # a mask counts where it renamed the row in place (its last augmentation); rows derived later
            # from a masked sample inherit the tag ("name_mask+clarify") and count for their deriving augmentation
            if augmentation not in MASKS or augmentation == applied[-1]:
                tags[(r["data_source"], augmentation)] += 1
    for source, stats in saved["sources"].items():
        assert stats["reconciled"]
        assert stats["read"] + stats["derived_total"] == (
            stats["written"]["total"] + stats["rejected_total"] + stats["deduplicated"] + stats["not_selected"]
        )
        for augmentation in AUGMENTATIONS:
            expected = stats["masked" if augmentation in MASKS else "derived"].get(augmentation, 0)
            assert tags[(source, augmentation)] == expected, (source, augmentation)
    assert Counter(r["data_source"] for r in rows) == Counter(
        {s: v["written"]["total"] for s, v in saved["sources"].items() if v["written"]["total"]}
    )
    for augmentation in AUGMENTATIONS:
        d = saved["augmentations"][augmentation]
        assert d["invalid"] == 0 and d["applied"] > 0, augmentation
        assert d["derived"] == sum(s["derived"].get(augmentation, 0) for s in saved["sources"].values())
        assert d["selected"] >= d["applied"] + sum(d["ineligible"].values())
    # the printed table shows every augmentation
    table = augmented_run[1].table()
    assert all(augmentation in table for augmentation in AUGMENTATIONS) and "derived" in table


def test_every_row_is_valid_and_golden(augmented_run):
    out, _ = augmented_run
    rows = _rows(out)
    augmented = [r for r in rows if r["extra_info"]["augmentation"]]
    assert len(augmented) > 200
    assert [(r["extra_info"]["source_id"], f) for r in augmented if (f := golden_failures(r))] == []
    # no derived row in test (augmentations are applied to train only by default), no duplicate prompt anywhere
    assert all(r["extra_info"]["split"] == "train" for r in augmented)
    keys = Counter(
        json.dumps(
            [
                [(m["role"], m["content"]) for m in r["prompt"][1:]],
                sorted(t["name"] for t in load_ground_truth(r["reward_model"]["ground_truth"]).tools),
            ]
        )
        for r in rows
    )
    assert max(keys.values()) == 1


def test_deterministic_for_a_seed(augmented_run, real_inputs, tmp_path):
    out, _ = augmented_run
    again = run(
        PrepConfig(
            out=str(tmp_path / "a"),
            progress=False,
            test_size=0.1,
            augmentations=ALL_ON,
            **{k: str(v) for k, v in real_inputs.items()},
        )
    )
    other = run(
        PrepConfig(
            out=str(tmp_path / "b"),
            progress=False,
            test_size=0.1,
            augmentations=ALL_ON,
            seed=7,
            **{k: str(v) for k, v in real_inputs.items()},
        )
    )
    first = pd.read_parquet(out / "train.parquet")
    assert first.equals(pd.read_parquet(tmp_path / "a" / "train.parquet"))
    assert not first.equals(pd.read_parquet(tmp_path / "b" / "train.parquet"))
    assert again.to_dict()["augmentations"] == json.loads((out / "report.json").read_text())["augmentations"]
    assert other.to_dict()["augmentations"] != again.to_dict()["augmentations"]


def test_augmentations_on_all_splits(tmp_path):
    run(
        PrepConfig(
            out=str(tmp_path),
            xlam=str(EXAMPLE_FILES["xlam"]),
            progress=False,
            test_size=0.5,
            augmentations=AugmentationConfig(name_mask_rate=1.0, on="all"),
        )
    )
    test = pd.read_parquet(tmp_path / "test.parquet").to_dict("records")
    assert test and all(r["extra_info"]["augmentation"] == "name_mask" for r in test)
    assert all(
        t["name"].startswith("func_") for r in test for t in load_ground_truth(r["reward_model"]["ground_truth"]).tools
    )


def test_toolrl_raw_rows_are_never_rewritten(tmp_path):
    report = run(
        PrepConfig(
            out=str(tmp_path),
            toolrl=str(EXAMPLE_FILES["toolrl"]),
            toolrl_gt="raw",
            progress=False,
            test_size=0,
            augmentations=AugmentationConfig(name_mask_rate=1.0, irrelevance_rate=1.0),
        )
    )
    assert (
        report.augmentations["name_mask"].applied == 0
        and report.augmentations["name_mask"].ineligible["raw_ground_truth"] > 0
    )
    rows = pd.read_parquet(tmp_path / "train.parquet").to_dict("records")
    assert all(r["reward_model"]["ground_truth"] == r["extra_info"]["toolrl_output"] for r in rows)


@pytest.mark.parametrize(
    "bad", [{"name_mask_rate": 1.5}, {"clarify_rate": -0.1}, {"hammer_mask_names": 0.0}, {"on": "test"}]
)
def test_bad_rates_rejected(tmp_path, bad):
    with pytest.raises(ValueError):
        run(
            PrepConfig(
                out=str(tmp_path),
                xlam=str(EXAMPLE_FILES["xlam"]),
                progress=False,
                augmentations=AugmentationConfig(**bad),
            )
        )


def test_cli_options(tmp_path):
    script = Path(sys.executable).parent / "toolzero-prep"
    help_text = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True).stdout
    for opt in (
        "--name-mask-rate",
        "--hammer-mask-rate",
        "--hammer-mask-names",
        "--irrelevance-rate",
        "--concat-rate",
        "--reintroduce-rate",
        "--clarify-rate",
        "--correct-rate",
        "--augmentations-on",
    ):
        assert opt in help_text, opt
    out = tmp_path / "out"
    res = subprocess.run(
        [
            str(script),
            "--xlam",
            str(EXAMPLE_FILES["xlam"]),
            "--toolace",
            str(EXAMPLE_FILES["toolace"]),
            "--out",
            str(out),
            "--no-progress",
            "--seed",
            "5",
            "--name-mask-rate",
            "0.5",
            "--irrelevance-rate",
            "1",
            "--clarify-rate",
            "1",
            "--correct-rate",
            "0.5",
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "irrelevance" in res.stdout and "clarify" in res.stdout
    report = json.loads((out / "report.json").read_text())
    assert (
        report["config"]["augmentations"]["irrelevance_rate"] == 1.0
        and report["augmentations"]["irrelevance"]["derived"] > 0
    )
    res = subprocess.run(
        [str(script), "--xlam", str(EXAMPLE_FILES["xlam"]), "--out", str(tmp_path / "x"), "--name-mask-rate", "2"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "--name-mask-rate" in res.stderr


def test_hammer_mask_sources_limit_the_masking(tmp_path):
    """ToolRL's mix masks xLAM rows only: --hammer-mask-sources xlam leaves ToolACE names intact."""
    import json as _json
    import subprocess as _sp
    import sys as _sys
    from pathlib import Path as _Path

    import pandas as _pd

    examples = _Path(__file__).resolve().parents[2] / "examples" / "data"
    out = tmp_path / "out"
    _sp.run(
        [
            _sys.executable,
            "-m",
            "data_prep",
            "--toolace",
            str(examples / "toolace_data.json"),
            "--xlam",
            str(examples / "xlam_function_calling_60k.json"),
            "--out",
            str(out),
            "--test-size",
            "0",
            "--hammer-mask-rate",
            "1",
            "--hammer-mask-sources",
            "xlam",
            "--quiet",
            "--no-progress",
        ],
        check=True,
    )
    df = _pd.read_parquet(out / "train.parquet")
    masked = {
        src: sum(
            "hammer_mask" in (e["augmentation"] or "") for e, s in zip(df["extra_info"], df["data_source"]) if s == src
        )
        for src in ("toolace", "xlam")
    }
    assert masked["toolace"] == 0 and masked["xlam"] > 0
    report = _json.loads((out / "report.json").read_text())
    assert report["augmentations"]["hammer_mask"]["applied"] == masked["xlam"]


def test_deprecated_devices_on_still_works(tmp_path):
    """--devices-on (the old name of --augmentations-on) still works and says it is deprecated."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "data_prep",
            "--xlam",
            str(EXAMPLE_FILES["xlam"]),
            "--out",
            str(tmp_path / "o"),
            "--test-size",
            "0.5",
            "--name-mask-rate",
            "1",
            "--devices-on",
            "all",
            "--quiet",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "--devices-on is deprecated; use --augmentations-on" in res.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["config"]["augmentations"]["on"] == "all" and "devices" not in report
