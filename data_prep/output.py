"""The output set - ``OUT/train.parquet``, ``OUT/test.parquet`` and ``OUT/report.json`` - checked before
any work and replaced as one set. This is the only writer of ``toolzero-prep``'s outputs.

The guarantees (docs/data.md §6, "The output set"):

- **Checked first.** :class:`OutputSet` checks ``--out`` before the conversion starts: a directory or
  missing (then created), not a mount point, writable, holding nothing but a previous output set, no
  input inside it, and a writable parent. A failure is a ``ValueError`` (``toolzero-prep`` exits 2).
- **Atomic as a set.** The new set is written into a fresh directory next to OUT
  (``.OUT.toolzero-prep-…``); each file under a temporary name, fsynced, then renamed; then the
  directory is fsynced and exchanged with OUT in one step (Linux ``renameat2(RENAME_EXCHANGE)``), and
  the parent is fsynced. A reader, or a kill at any moment, finds the complete old set or the complete
  new set in OUT, never a mix. Where the filesystem cannot exchange (e.g. NFS), OUT is renamed aside
  and the new directory renamed in: between those two renames OUT does not exist (a reader fails
  rather than mixing sets), and a kill there leaves both complete sets beside OUT; the next run puts
  the newer one back before it starts.
- **No leftovers.** On failure the run removes its directory; a killed run's directory is removed by
  the next run into the same OUT (a live run locks its own and it is never touched).
- **Permissions.** Directories and files are created with the default mode under the umask (OUT keeps
  its own mode when it existed), never 0600.

>>> import tempfile, pyarrow.parquet as pq
>>> d = tempfile.mkdtemp()
>>> paths = write_outputs(d, {"train.parquet": [], "test.parquet": []}, {"ok": True})
>>> pq.read_table(paths["train.parquet"]).num_rows, sorted(os.listdir(d))
(0, ['report.json', 'test.parquet', 'train.parquet'])
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import socket
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from .tables import ROW_SCHEMA

BATCH_ROWS = 4096  # rows converted to Arrow at a time, to bound memory on the 60k-record corpus
OUTPUT_NAMES = ("train.parquet", "test.parquet", "report.json")
TAG = ".toolzero-prep-"  # ".OUT.toolzero-prep-<host>-<pid>-<random>.<state>" next to OUT
STAGING, SEALED, ASIDE = ".tmp", ".new", ".old"  # being written / complete new set / the old set moved aside
PARTIAL = ".partial"  # a file inside the set directory, until it is complete and fsynced


def to_tables(rows: Sequence[Mapping[str, Any]]) -> list[pa.Table]:
    """Rows -> Arrow tables of :data:`ROW_SCHEMA`, :data:`BATCH_ROWS` rows each."""
    return [pa.Table.from_pylist(list(rows[i : i + BATCH_ROWS]), schema=ROW_SCHEMA)
            for i in range(0, len(rows), BATCH_ROWS)]


def write_parquet(data: Sequence[Mapping[str, Any]] | Sequence[pa.Table], path: str | os.PathLike) -> None:
    """Write rows (dicts, with the fixed :data:`ROW_SCHEMA`) or ready Arrow tables (with their own schema:
    episode tables carry ``agent_name`` too)."""
    tables = data if data and isinstance(data[0], pa.Table) else to_tables(data)
    schema = tables[0].schema if tables else ROW_SCHEMA
    with pq.ParquetWriter(str(path), schema) as writer:
        for table in tables:
            writer.write_table(table)
        if not tables:
            writer.write_table(schema.empty_table())


def write_outputs(out_dir: str | os.PathLike, parquet: Mapping[str, Sequence], report: Mapping[str, Any],
                  inputs: Iterable[str | os.PathLike] = ()) -> dict[str, str]:
    """Check ``out_dir``, then write ``{file name: rows or Arrow tables}`` and ``report.json`` as one set;
    returns the final paths."""
    with OutputSet(out_dir, inputs) as output:
        return output.write(parquet, report)


def check_out_path(out: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """The real directory ``out`` names (a symlinked OUT keeps its link), if it can hold the output set and no
    input lies inside it; ``ValueError`` otherwise. Only looks, changes nothing."""
    given = os.fspath(out)
    target = Path(os.path.realpath(given))
    if target.exists() and not target.is_dir():
        raise ValueError(f"--out {given!r} exists and is not a directory")
    if target == target.parent or (target.is_dir() and os.path.ismount(target)):
        raise ValueError(f"--out {given!r} is a mount point; toolzero-prep replaces the directory as a whole, "
                         "so give a directory inside it")
    for path in inputs:
        if os.path.commonpath([os.path.realpath(path), target]) == str(target):
            raise ValueError(f"input {os.fspath(path)!r} lies inside --out {given!r}, which toolzero-prep "
                             "replaces as a whole; keep inputs elsewhere")
    return target


class OutputSet:
    """``OUT``, checked on construction (``ValueError``), written once with :meth:`write`.

    Use it as a context manager around the work: leaving it without a successful :meth:`write` removes
    the set directory and leaves OUT as it was.
    """

    def __init__(self, out: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> None:
        given = os.fspath(out)
        self.target = check_out_path(given, inputs)
        self.parent = self.target.parent
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"--out {given!r}: cannot create its parent directory ({exc.strerror})") from None
        self.staging: Path | None = None
        self._fd: int | None = None  # the set directory, locked while this run lives
        try:
            with _locked(self.parent):
                recover(self.target)
                self._check_contents(given)
                self.target.mkdir(exist_ok=True)  # "created if missing", before any work
                name = f".{self.target.name}{TAG}{_host()}-{os.getpid()}-{secrets.token_hex(4)}"
                self.staging = self.parent / (name + STAGING)
                os.mkdir(self.staging, 0o777)  # the umask applies
                self._fd = _lock_dir(self.staging, block=True)
        except OSError as exc:
            self.close()
            raise ValueError(f"--out {given!r}: cannot prepare it and a directory next to it in "
                             f"{str(self.parent)!r} ({exc.strerror or exc}); toolzero-prep replaces the "
                             "directory as a whole, so its parent must be writable") from None

    def _check_contents(self, given: str) -> None:
        if not self.target.is_dir():
            return
        entries = sorted(os.listdir(self.target))
        foreign = [e for e in entries if e not in OUTPUT_NAMES or not (self.target / e).is_file()]
        if foreign:
            shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
            raise ValueError(f"--out {given!r} holds more than a previous output set ({shown}); toolzero-prep "
                             "replaces the directory as a whole, so give a new or empty directory")
        if not os.access(self.target, os.W_OK | os.X_OK):
            raise ValueError(f"--out {given!r} is not writable")

    def write(self, parquet: Mapping[str, Sequence], report: Mapping[str, Any]) -> dict[str, str]:
        """Write the files into the set directory, then swap it with OUT (see the module docstring)."""
        if self.staging is None:
            raise RuntimeError("this output set was already written or closed")
        for name, rows in parquet.items():
            self._place(name, lambda path, rows=rows: write_parquet(rows, path))
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        # A lone surrogate (from a hostile record's id or detail) becomes a \\udXXX escape: still valid JSON.
        self._place("report.json", lambda path: Path(path).write_bytes(text.encode("utf-8", "backslashreplace")))
        _fsync(self.staging)
        with _locked(self.parent):
            sealed = self.staging.with_suffix(SEALED)
            os.rename(self.staging, sealed)
            self.staging = sealed
            if self.target.is_dir():
                os.chmod(sealed, stat.S_IMODE(os.stat(self.target).st_mode))
            old = _swap(sealed, self.target)
            self.staging = None
            _fsync(self.parent)
            if old is not None:
                remove_set_dir(old)
        return {name: str(self.target / name) for name in [*parquet, "report.json"]}

    def _place(self, name: str, write: Any) -> None:
        partial = self.staging / f".{name}{PARTIAL}"
        write(partial)
        _fsync(partial)
        os.rename(partial, self.staging / name)

    def close(self) -> None:
        """Remove the set directory unless it was swapped in; release the lock."""
        if self.staging is not None:
            remove_set_dir(self.staging)
            self.staging = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- swapping and recovery -------------------------------------------------------------------------


def _swap(new: Path, target: Path) -> Path | None:
    """Put ``new`` at ``target``; returns where the old directory went (to be removed), or None."""
    if not target.exists():
        os.rename(new, target)
        return None
    if _exchange(new, target):
        return new  # now holds the old set
    aside = new.with_suffix(ASIDE)
    os.rename(target, aside)  # from here until the next rename OUT does not exist (see recover)
    os.rename(new, target)
    return aside


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(…, RENAME_EXCHANGE)``); False where unsupported."""
    import ctypes  # only needed here

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2  # <fcntl.h>, <linux/fs.h>
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # this filesystem (or kernel) cannot exchange
    raise OSError(err, os.strerror(err), str(a))


def recover(target: Path) -> None:
    """Clean up after killed runs into ``target`` (call with the parent locked): if ``target`` is missing
    because a run was killed between its two renames, put the newest complete set back; then remove
    every leftover set directory whose run is gone."""
    dead = []
    for entry in sorted(os.scandir(target.parent), key=lambda e: e.name):
        path = Path(entry.path)
        if _owner(path, target) is not None and entry.is_dir(follow_symlinks=False) and not _alive(path, target):
            dead.append(path)
    if not target.exists():
        for suffix in (SEALED, ASIDE):  # the new set if it was sealed, else the old one
            done = sorted((p for p in dead if p.suffix == suffix), key=lambda p: p.stat().st_mtime)
            if done:
                os.rename(done[-1], target)
                dead.remove(done[-1])
                break
    for path in dead:
        remove_set_dir(path)


def remove_set_dir(path: Path) -> None:
    """Remove a set directory of ours: its output files and partial files, then the directory. Anything
    else found in it is left in place (it is not ours to delete)."""
    for name in OUTPUT_NAMES:
        for candidate in (path / name, path / f".{name}{PARTIAL}"):
            try:
                candidate.unlink()
            except FileNotFoundError:
                pass
    try:
        path.rmdir()
    except OSError:
        pass  # not empty: someone else's file; left for a person to look at


_SET_DIR = re.compile(r"(?P<host>[^-/]+)-(?P<pid>\d+)-[0-9a-f]{8}\.(?:tmp|new|old)")


def _owner(path: Path, target: Path) -> tuple[str, int] | None:
    """``(host, pid)`` of the run that made ``path`` if it is a set directory for ``target``, else None."""
    prefix = f".{target.name}{TAG}"
    m = _SET_DIR.fullmatch(path.name[len(prefix):]) if path.name.startswith(prefix) else None
    return (m["host"], int(m["pid"])) if m else None


def _alive(path: Path, target: Path) -> bool:
    """Is the run that made ``path`` still running? (It holds a lock on the directory.)"""
    try:
        fd = _lock_dir(path, block=False)
    except BlockingIOError:
        return True
    except OSError:  # no flock on this filesystem: judge by the host and pid in the name
        host, pid = _owner(path, target)
        return host != _host() or _pid_alive(pid)  # another machine's run is never ours to delete
    os.close(fd)  # dead: its lock was free (we held it only to ask)
    return False


def _lock_dir(path: Path, block: bool) -> int:
    """An fd on ``path`` holding an exclusive ``flock``; released when the fd is closed or the process dies."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except OSError as exc:
        os.close(fd)
        if block and exc.errno in (errno.EINVAL, errno.ENOLCK, errno.EBADF, errno.EOPNOTSUPP):
            return os.open(path, os.O_RDONLY)  # no flock here: run unlocked (see _alive's fallback)
        raise
    return fd


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise the check / recover / swap steps of runs sharing ``directory`` (milliseconds each)."""
    fd = _lock_dir(directory, block=True)
    try:
        yield
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):  # some filesystems cannot fsync a directory
            raise
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host() -> str:
    return socket.gethostname().replace("-", "_") or "host"



