"""The output set is atomic as a set (data_prep.output): kills at every step of a write, leftovers,
permissions, fsync order, and --out / input checks before any work (hardening, class 1)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pyarrow.parquet as pq
import pytest

import data_prep.output as output
from data_prep.config import PrepConfig
from data_prep.output import OUTPUT_NAMES, TAG, OutputSet, write_outputs
from data_prep.pipeline import run

from .conftest import EXAMPLE_FILES, REPO

# A forked child writes a new set (5 rows per file) over an old one (2 rows) and SIGKILLs itself just
# before its N-th filesystem step; "noexchange" makes it use the two-rename fallback.
FS_STEPS = ("rename", "fsync", "chmod", "unlink", "rmdir", "mkdir")


def killed_writer(out: Path, kill_at: int, mode: str) -> bool:
    """True if the child finished before reaching step ``kill_at``."""
    pid = os.fork()
    if pid == 0:
        try:  # the child: never returns into pytest
            count = [0]

            def step(fn):
                def wrapped(*args, **kwargs):
                    count[0] += 1
                    if count[0] == kill_at:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return fn(*args, **kwargs)
                return wrapped

            if mode == "noexchange":
                output._exchange = lambda a, b: False
            for name in FS_STEPS:
                setattr(os, name, step(getattr(os, name)))
            output._exchange = step(output._exchange)
            write_outputs(out, {"train.parquet": rows(5), "test.parquet": rows(5)}, {"n": 5})
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0) or os.WTERMSIG(status) == signal.SIGKILL
    return os.WIFEXITED(status)


def rows(n: int) -> list[dict]:
    from data_prep.rows import build_row
    from data_prep.sample import Message, Sample
    from toolzero_verl.core.calls import ToolCall

    tool = {"name": "f", "description": "", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}},
                                                            "required": []}}
    return [build_row(Sample("xlam", str(i), (Message("user", f"q{i}"),), (tool,), (ToolCall("f", {"a": i}),)),
                      "answer", "train", i) for i in range(n)]


def set_size(out: Path) -> int | None:
    """The set in ``out`` (its row count), checking it is whole and consistent; None if ``out`` is missing."""
    if not out.exists():
        return None
    assert sorted(os.listdir(out)) == sorted(OUTPUT_NAMES)
    n = json.loads((out / "report.json").read_text())["n"]
    assert pq.read_table(out / "train.parquet").num_rows == n == pq.read_table(out / "test.parquet").num_rows
    return n


def leftovers(out: Path) -> list[str]:
    return [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}{TAG}")]


@pytest.mark.parametrize("mode", ["exchange", "noexchange"])
def test_a_kill_at_any_step_leaves_the_old_or_the_new_set(tmp_path, mode):
    out = tmp_path / "out"
    seen = set()
    for kill_at in range(1, 200):
        write_outputs(out, {"train.parquet": rows(2), "test.parquet": rows(2)}, {"n": 2})
        finished = killed_writer(out, kill_at, mode)
        now = set_size(out)
        if mode == "exchange":
            assert now in (2, 5), kill_at  # never missing, never mixed
        else:
            assert now in (2, 5, None), kill_at  # missing only between the two renames
        OutputSet(out).close()  # the next run: recovers, then removes the killed run's directories
        after = set_size(out)
        assert after == (5 if now is None else now) and leftovers(out) == [], (kill_at, leftovers(out))
        seen.add(now)
        if finished:
            break
    else:
        pytest.fail("the writer never finished")
    assert kill_at > 10 and {2, 5} <= seen
    assert (None in seen) == (mode == "noexchange")  # the fallback's window was hit, and only there


def test_files_respect_the_umask_and_out_keeps_its_mode(tmp_path):
    previous = os.umask(0o027)
    try:
        write_outputs(tmp_path / "new", {"train.parquet": rows(1), "test.parquet": []}, {"n": 1})
        (tmp_path / "kept").mkdir(mode=0o750)
        os.chmod(tmp_path / "kept", 0o711)
        write_outputs(tmp_path / "kept", {"train.parquet": rows(1), "test.parquet": []}, {"n": 1})
    finally:
        os.umask(previous)
    assert oct(os.stat(tmp_path / "new").st_mode & 0o777) == oct(0o750)
    for name in OUTPUT_NAMES:
        assert oct(os.stat(tmp_path / "new" / name).st_mode & 0o777) == oct(0o640), name  # not 0600
    assert oct(os.stat(tmp_path / "kept").st_mode & 0o777) == oct(0o711)


def test_every_file_and_the_directory_reach_the_disk_before_the_swap(tmp_path, monkeypatch):
    events = []
    real_fsync, real_swap = output._fsync, output._swap
    monkeypatch.setattr(output, "_fsync", lambda p: (events.append(("fsync", Path(p).name)), real_fsync(p))[1])
    monkeypatch.setattr(output, "_swap", lambda a, b: (events.append(("swap", b.name)), real_swap(a, b))[1])
    write_outputs(tmp_path / "out", {"train.parquet": rows(1), "test.parquet": []}, {"n": 1})
    swap = events.index(("swap", "out"))
    synced = {name for kind, name in events[:swap] if kind == "fsync"}
    assert {f".{n}{output.PARTIAL}" for n in OUTPUT_NAMES} <= synced  # each file, before its rename
    assert events[swap - 1][0] == "fsync" and events[swap - 1][1].endswith(output.STAGING)  # then the directory
    assert events[swap + 1] == ("fsync", tmp_path.name)  # then the parent, after the swap


def test_a_failed_run_removes_its_directory_and_keeps_the_old_set(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_outputs(out, {"train.parquet": rows(2), "test.parquet": rows(2)}, {"n": 2})

    def disk_full(rows_, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_parquet", disk_full)
    with pytest.raises(OSError):
        write_outputs(out, {"train.parquet": rows(5), "test.parquet": rows(5)}, {"n": 5})
    assert set_size(out) == 2 and leftovers(out) == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "data_prep", "--no-progress", "--quiet", *args],
                          capture_output=True, text=True, cwd=REPO)


def test_inputs_inside_out_are_refused_before_any_work(tmp_path):
    out = tmp_path / "out"
    write_outputs(out, {"train.parquet": rows(2), "test.parquet": rows(2)}, {"n": 2})
    for inside in (out / "report.json", out / "xlam.json"):
        if not inside.exists():
            inside.write_text(EXAMPLE_FILES["xlam"].read_text())
        res = _cli("--xlam", str(inside), "--out", str(out))
        assert res.returncode == 2 and "lies inside --out" in res.stderr and len(res.stderr.splitlines()) == 1
        assert inside.exists()
    (out / "xlam.json").unlink()
    assert set_size(out) == 2


@pytest.mark.parametrize("kind", ["file", "foreign", "file_parent", "root"])
def test_bad_out_exits_2_before_any_work(tmp_path, monkeypatch, kind):
    if kind == "file":
        out = tmp_path / "a_file"
        out.write_text("not a directory")
    elif kind == "foreign":
        out = tmp_path / "data"
        out.mkdir()
        (out / "train.parquet").write_text("x")
        (out / "my_notes.txt").write_text("keep me")
    elif kind == "file_parent":
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "out"
    else:
        out = Path("/")
    import data_prep.pipeline as pipeline

    monkeypatch.setattr(pipeline, "collect", lambda *a, **k: pytest.fail("converted before checking --out"))
    with pytest.raises(ValueError, match="--out"):
        run(PrepConfig(out=str(out), xlam=str(EXAMPLE_FILES["xlam"]), progress=False))
    res = _cli("--xlam", str(EXAMPLE_FILES["xlam"]), "--out", str(out))
    assert res.returncode == 2 and res.stderr.startswith("toolzero-prep: error: --out")
    assert len(res.stderr.splitlines()) == 1
    if kind == "foreign":
        assert (out / "my_notes.txt").read_text() == "keep me"


def _make_read_only(path: Path) -> Callable[[], None]:
    """Make ``path`` unwritable even for root (the immutable attribute; a plain chmod for other users)."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        return lambda: path.chmod(0o755)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.fail("running as root without a working `chattr +i`: cannot make a directory read-only here")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_out_exits_2(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    restore = _make_read_only(out)
    try:
        res = _cli("--xlam", str(EXAMPLE_FILES["xlam"]), "--out", str(out))
    finally:
        restore()
    assert res.returncode == 2 and "not writable" in res.stderr


def test_a_symlinked_out_stays_a_link(tmp_path):
    real = tmp_path / "real"
    link = tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    write_outputs(link, {"train.parquet": rows(3), "test.parquet": rows(3)}, {"n": 3})
    assert link.is_symlink() and set_size(real) == 3


def test_recovery_only_touches_its_own_out(tmp_path):
    """A killed run's complete set for another --out whose name starts alike is never adopted or removed."""
    other = tmp_path / "a.toolzero-prep-b"
    write_outputs(other, {"train.parquet": rows(1), "test.parquet": rows(1)}, {"n": 1})
    stray = tmp_path / f".{other.name}{TAG}host-1-0123abcd.new"  # a sealed set of "other", its run gone
    stray.mkdir()
    OutputSet(tmp_path / "a").close()
    assert stray.is_dir() and os.listdir(tmp_path / "a") == [] and set_size(other) == 1
    OutputSet(other).close()  # its own next run does clean it up
    assert not stray.exists() and set_size(other) == 1
