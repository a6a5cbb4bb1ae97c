"""Corpora from the Hugging Face Hub: ``--toolace hf://Team-ACE/ToolACE`` instead of a local file.

A corpus input of the form ``hf://OWNER/NAME[@REVISION][/PATH/IN/REPO]`` names a file of a Hub
**dataset** repository. Without a path, the corpus's own file is taken (:data:`DEFAULT_FILES`); the
revision is a branch, tag or commit (a ``/`` inside it written ``%2F``, as the Hub's URLs do). The file
is fetched with ``huggingface_hub.hf_hub_download``, so the user's cache (``HF_HOME`` /
``HF_HUB_CACHE``), token (``HF_TOKEN`` or ``hf auth login``) and offline mode (``HF_HUB_OFFLINE=1``:
cached files only, nothing is downloaded) apply exactly as for every other Hub client.

``huggingface_hub`` is an optional dependency (``pip install 'toolzero-verl[hub]'``), imported only
when an input names the Hub, so ``data_prep`` imports and runs on local files without it.

>>> parse_ref("hf://Team-ACE/ToolACE", "toolace")
HubRef(repo_id='Team-ACE/ToolACE', revision=None, filename='data.json')
>>> parse_ref("hf://MadeAgents/xlam-irrelevance-7.5k@fb46d88d/xlam-7.5k-irrelevancek.json", "hammer")
HubRef(repo_id='MadeAgents/xlam-irrelevance-7.5k', revision='fb46d88d', filename='xlam-7.5k-irrelevancek.json')
>>> is_hub_ref("data/data.json"), is_hub_ref("hf://a/b")
(False, True)
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

PREFIX = "hf://"
# The file each corpus's Hub repository holds (docs/data.md §1).
DEFAULT_FILES = {
    "toolace": "data.json",  # Team-ACE/ToolACE
    "xlam": "xlam_function_calling_60k.json",  # Salesforce/xlam-function-calling-60k (gated)
    "hammer": "xlam-7.5k-irrelevancek.json",  # MadeAgents/xlam-irrelevance-7.5k ("irrelevancek" sic; gated)
}
# Repositories that make users accept their terms before the first download (their dataset cards).
GATED = frozenset({"Salesforce/xlam-function-calling-60k", "MadeAgents/xlam-irrelevance-7.5k"})
INSTALL_HINT = "pip install 'toolzero-verl[hub]' (or pip install huggingface_hub)"


class HubInputError(ValueError):
    """A Hub input that cannot be parsed or fetched; the message says what to do."""


@dataclass(frozen=True)
class HubRef:
    """A file of a Hub dataset repository."""

    repo_id: str
    revision: str | None
    filename: str

    @property
    def url(self) -> str:
        return f"https://huggingface.co/datasets/{self.repo_id}"


def is_hub_ref(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)


def parse_ref(value: str, source: str) -> HubRef:
    """``hf://OWNER/NAME[@REVISION][/PATH]`` of the ``--source`` option."""
    parts = value[len(PREFIX):].strip("/").split("/")
    if len(parts) < 2 or not parts[0] or not parts[1] or "@" in parts[0]:
        raise HubInputError(f"--{source} {value}: write a Hub dataset as hf://OWNER/NAME[@REVISION][/FILE]")
    name, _, revision = parts[1].partition("@")
    if not name or (_ and not revision):
        raise HubInputError(f"--{source} {value}: empty dataset name or revision")
    filename = "/".join(parts[2:]) or DEFAULT_FILES.get(source)
    if not filename:
        raise HubInputError(f"--{source} {value}: name the file in the repository, hf://{parts[0]}/{name}/FILE")
    return HubRef(f"{parts[0]}/{name}", urllib.parse.unquote(revision) if revision else None, filename)


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise HubInputError(f"Hub inputs (hf://...) need huggingface_hub: {INSTALL_HINT}") from None
    return huggingface_hub


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() in ("1", "true", "yes", "on")


def _gated_hint(ref: HubRef) -> str:
    return (f"{ref.repo_id} is gated: open {ref.url} while logged in to the Hub, accept its terms, then "
            "log in here with `hf auth login` (or set HF_TOKEN) and run again")


def explain(exc: BaseException, ref: HubRef, source: str) -> str:
    """One message for a failed download: what happened and what to do."""
    errors = _hub().errors
    where = f"--{source} hf://{ref.repo_id}" + (f"@{ref.revision}" if ref.revision else "") + f"/{ref.filename}"
    gated = ref.repo_id in GATED
    if isinstance(exc, errors.GatedRepoError) or (gated and getattr(getattr(exc, "response", None),
                                                                      "status_code", None) in (401, 403)):
        return f"{where}: {_gated_hint(ref)}"
    if isinstance(exc, errors.LocalEntryNotFoundError) or isinstance(exc, errors.OfflineModeIsEnabled):
        cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"
        text = (f"{where}: not in the Hub cache ({cache}) and offline (HF_HUB_OFFLINE=1) or the Hub is "
                "unreachable; download it once with network access, or pass a local file")
        return text + (f". Note: {_gated_hint(ref)}" if gated else "")
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"{where}: the dataset has no revision {ref.revision!r}"
    if isinstance(exc, errors.EntryNotFoundError) or type(exc).__name__ == "RemoteEntryNotFoundError":
        return f"{where}: the dataset has no file {ref.filename!r}; name it as hf://{ref.repo_id}/PATH"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return (f"{where}: no such dataset, or it is private and your token cannot read it "
                f"(`hf auth login` or HF_TOKEN); see {ref.url}")
    return f"{where}: download failed: {type(exc).__name__}: {exc}" + (f". {_gated_hint(ref)}" if gated else "")


def fetch(ref: HubRef, source: str) -> str:
    """The local path of ``ref`` in the user's Hub cache, downloading it unless offline."""
    hub = _hub()
    try:
        return hub.hf_hub_download(ref.repo_id, ref.filename, repo_type="dataset", revision=ref.revision,
                                   local_files_only=_offline())
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one actionable line
        raise HubInputError(explain(exc, ref, source)) from None


def resolve_inputs(values: Mapping[str, str | None]) -> tuple[dict[str, str | None], dict[str, dict[str, Any]]]:
    """Each ``hf://`` input replaced by its local cached path; returns the new values and, per Hub input,
    what was fetched (for ``report.json``: reference, repository, revision asked, file, snapshot, path)."""
    out, fetched = dict(values), {}
    for source, value in values.items():
        if not is_hub_ref(value):
            continue
        ref = parse_ref(value, source)
        path = fetch(ref, source)
        out[source] = path
        parts = Path(path).parts
        snapshot = parts[parts.index("snapshots") + 1] if "snapshots" in parts[:-1] else None  # the commit
        fetched[source] = {"ref": value, "repo_id": ref.repo_id, "revision": ref.revision,
                           "filename": ref.filename, "snapshot": snapshot, "path": path}
    return out, fetched
