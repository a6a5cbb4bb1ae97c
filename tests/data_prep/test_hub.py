"""``toolzero-prep`` with Hub dataset inputs (``hf://OWNER/NAME``), offline, against a cache laid out as
``huggingface_hub`` writes it: ``datasets--OWNER--NAME/{blobs/<etag>, refs/main, snapshots/<commit>/<file>}``
(the snapshot file a relative symlink to its blob). Every run sets ``HF_HUB_OFFLINE=1`` and points
``HF_ENDPOINT`` at a closed local port, so nothing can be downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep import hub

from .conftest import EXAMPLE_FILES

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPOS = {
    "toolace": ("Team-ACE/ToolACE", "data.json"),
    "xlam": ("Salesforce/xlam-function-calling-60k", "xlam_function_calling_60k.json"),
    "hammer": ("MadeAgents/xlam-irrelevance-7.5k", "xlam-7.5k-irrelevancek.json"),
}


def cache_file(cache: Path, repo_id: str, filename: str, source: Path, commit: str = COMMIT) -> Path:
    """Put ``source`` into ``cache`` as the Hub client stores a dataset file downloaded at ``main``."""
    repo = cache / ("datasets--" + repo_id.replace("/", "--"))
    data = source.read_bytes()
    blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    link = repo / "snapshots" / commit / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    return link


@pytest.fixture()
def cache(tmp_path) -> Path:
    root = tmp_path / "hub"
    for source, (repo_id, filename) in REPOS.items():
        cache_file(root, repo_id, filename, EXAMPLE_FILES[source])
    return root


def prep(args: list[str], cache: Path, tmp_path: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HUB_CACHE=str(cache), HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="1",
               HF_ENDPOINT="http://127.0.0.1:9", **extra_env)
    return subprocess.run([sys.executable, "-m", "data_prep", "--no-progress", "--seed", "5", *args],
                          capture_output=True, text=True, env=env)


def rows(out: Path) -> list[dict]:
    return pq.read_table(out / "train.parquet").to_pylist() + pq.read_table(out / "test.parquet").to_pylist()


def test_hub_inputs_convert_exactly_like_the_local_files(cache, tmp_path):
    hub_run = prep(["--toolace", "hf://Team-ACE/ToolACE", "--xlam", "hf://Salesforce/xlam-function-calling-60k",
                    "--hammer", "hf://MadeAgents/xlam-irrelevance-7.5k", "--out", str(tmp_path / "a")], cache, tmp_path)
    assert hub_run.returncode == 0, hub_run.stderr
    local = prep(["--toolace", str(EXAMPLE_FILES["toolace"]), "--xlam", str(EXAMPLE_FILES["xlam"]),
                  "--hammer", str(EXAMPLE_FILES["hammer"]), "--out", str(tmp_path / "b")], cache, tmp_path)
    assert local.returncode == 0, local.stderr
    assert rows(tmp_path / "a") == rows(tmp_path / "b") and rows(tmp_path / "a")
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    fetched = report["config"]["hub_inputs"]
    assert sorted(fetched) == ["hammer", "toolace", "xlam"]
    assert fetched["toolace"]["ref"] == "hf://Team-ACE/ToolACE" and fetched["toolace"]["snapshot"] == COMMIT
    assert fetched["xlam"]["filename"] == "xlam_function_calling_60k.json"
    assert Path(fetched["toolace"]["path"]).read_bytes() == EXAMPLE_FILES["toolace"].read_bytes()
    assert report["config"]["toolace"] == fetched["toolace"]["path"]  # what was read


def test_a_revision_and_an_explicit_file_are_honoured(cache, tmp_path):
    other = "fedcba9876543210fedcba9876543210fedcba98"
    cache_file(cache, "someone/toolrl-copy", "data/rlla_rl.json", EXAMPLE_FILES["toolrl"], commit=other)
    ok = prep(["--toolrl", f"hf://someone/toolrl-copy@{other}/data/rlla_rl.json", "--out", str(tmp_path / "o")],
              cache, tmp_path)
    assert ok.returncode == 0, ok.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["config"]["hub_inputs"]["toolrl"]["snapshot"] == other
    missing = prep(["--toolace", "hf://Team-ACE/ToolACE@v9", "--out", str(tmp_path / "p")], cache, tmp_path)
    assert missing.returncode == 2 and "not in the Hub cache" in missing.stderr and "HF_HUB_OFFLINE" in missing.stderr


def test_a_gated_dataset_missing_offline_says_how_to_accept_its_terms(tmp_path):
    res = prep(["--xlam", "hf://Salesforce/xlam-function-calling-60k", "--out", str(tmp_path / "o")],
               tmp_path / "empty_cache", tmp_path)
    assert res.returncode == 2
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "gated" in err and "https://huggingface.co/datasets/Salesforce/xlam-function-calling-60k" in err
    assert "accept its terms" in err and "hf auth login" in err
    assert not (tmp_path / "o").exists() and not list((tmp_path / "empty_cache").rglob("*.json"))


def test_the_hubs_gated_error_becomes_the_accept_terms_message():
    """huggingface_hub's own GatedRepoError (a 403 from the Hub), for any repository."""
    import httpx
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    request = httpx.Request("GET", "https://huggingface.co/datasets/a/b/resolve/main/f.json")
    ref = hub.HubRef("a/b", None, "f.json")
    gated = GatedRepoError("403 gated", response=httpx.Response(403, request=request))
    assert "a/b is gated: open https://huggingface.co/datasets/a/b" in hub.explain(gated, ref, "toolace")
    missing = RepositoryNotFoundError("404", response=httpx.Response(404, request=request))
    assert "no such dataset, or it is private" in hub.explain(missing, ref, "toolace")


@pytest.mark.parametrize(("value", "message"), [
    ("hf://Team-ACE", "hf://OWNER/NAME"),
    ("hf://Team-ACE/ToolACE@", "empty dataset name or revision"),
    ("hf://@x/ToolACE", "hf://OWNER/NAME"),
])
def test_malformed_references_fail_before_any_work(value, message, tmp_path):
    res = prep(["--toolace", value, "--out", str(tmp_path / "o")], tmp_path / "c", tmp_path)
    assert res.returncode == 2 and message in res.stderr


def test_toolrl_has_no_default_file_on_the_hub():
    with pytest.raises(hub.HubInputError, match="name the file"):
        hub.parse_ref("hf://someone/toolrl", "toolrl")
    assert hub.parse_ref("hf://a/b@refs%2Fpr%2F1", "xlam").revision == "refs/pr/1"


def test_without_huggingface_hub_local_files_work_and_hub_inputs_say_what_to_install(tmp_path):
    code = ("import sys; sys.modules['huggingface_hub'] = None\n"
            "from data_prep.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    base = [sys.executable, "-c", code, "--no-progress", "--out"]
    local = subprocess.run(base + [str(tmp_path / "a"), "--xlam", str(EXAMPLE_FILES["xlam"])],
                           capture_output=True, text=True)
    assert local.returncode == 0, local.stderr
    remote = subprocess.run(base + [str(tmp_path / "b"), "--xlam", "hf://Salesforce/xlam-function-calling-60k"],
                            capture_output=True, text=True)
    assert remote.returncode == 2 and "pip install 'toolzero-verl[hub]'" in remote.stderr
