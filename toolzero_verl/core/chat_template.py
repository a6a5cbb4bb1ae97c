"""Chat templates: the one a Hugging Face model directory ships, read without transformers, and the training
prompts rendered through a tokenizer's template.

:func:`model_chat_template` is used by ``toolzero-eval`` (the manifests hash it) and by the preflight (a local
model without one cannot render the training prompts). :func:`chat_prompts` / :func:`prompt_token_ids` render
a row's ``prompt`` as verl's rollout does, for both ``toolzero-eval generate`` paths (single turns and the
episode loop's prompt-length check). transformers reads ``chat_template.jinja`` first, then the
``chat_template`` entry of ``tokenizer_config.json``; so does :func:`model_chat_template`.

>>> import json, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> model_chat_template(d) is None
True
>>> _ = (d / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
>>> model_chat_template(d)
'{{ messages }}'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence


def model_chat_template(model_dir: str | os.PathLike) -> str | None:
    """The template of ``model_dir`` (``chat_template.jinja``, else ``tokenizer_config.json``'s
    ``chat_template``; several named templates as one canonical JSON text); None if it ships none."""
    root = Path(model_dir)
    jinja = root / "chat_template.jinja"
    try:
        if jinja.is_file():
            return jinja.read_text(encoding="utf-8")
        config = root / "tokenizer_config.json"
        if config.is_file():
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
            if isinstance(template, str):
                return template
            if isinstance(template, list):  # several named templates: all of them, canonically
                return json.dumps(template, sort_keys=True, ensure_ascii=False, default=str)
    except (OSError, ValueError, AttributeError):
        return None
    return None


NO_CHAT_TEMPLATE = (
    "the model's tokenizer has no chat template (a base checkpoint that ships none?), so the training prompts "
    "cannot be rendered; pass --chat-template FILE with the Jinja template training used "
    "(verl's actor_rollout_ref.model.custom_chat_template; docs/recipes.md, \"Models and chat templates\")"
)


def _require_template(tokenizer: Any) -> None:
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(NO_CHAT_TEMPLATE)


def chat_prompts(
    rows: Sequence[Mapping[str, Any]], tokenizer: Any, chat_template_kwargs: Mapping[str, Any] | None = None
) -> list[str]:
    """Each row's ``prompt`` messages through the tokenizer's chat template, as verl's rollout does, with the
    chat-template keywords of the training run (``data.apply_chat_template_kwargs``)."""
    _require_template(tokenizer)
    kwargs = dict(chat_template_kwargs or {})
    return [
        tokenizer.apply_chat_template([dict(m) for m in row["prompt"]], add_generation_prompt=True, tokenize=False,
                                      **kwargs)
        for row in rows
    ]


def prompt_token_ids(
    rows: Sequence[Mapping[str, Any]], tokenizer: Any, chat_template_kwargs: Mapping[str, Any] | None = None
) -> list[list[int]]:
    """The token ids of :func:`chat_prompts`, tokenised by the chat template as verl's agent loop does
    (``tokenize=True``: no second tokenisation of the text that could add a BOS token)."""
    _require_template(tokenizer)
    kwargs = dict(chat_template_kwargs or {})
    out = []
    for row in rows:
        ids = tokenizer.apply_chat_template([dict(m) for m in row["prompt"]], add_generation_prompt=True,
                                            tokenize=True, **kwargs)
        ids = ids["input_ids"] if hasattr(ids, "keys") else ids  # transformers 5 returns a BatchEncoding
        out.append([int(i) for i in ids])
    return out
