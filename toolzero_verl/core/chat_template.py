"""The chat template a Hugging Face model directory ships, read without transformers.

Used by ``toolzero-eval`` (the manifests hash it) and by the preflight (a local model without one cannot
render the training prompts). transformers reads ``chat_template.jinja`` first, then the
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
