"""Optional prompt-length filter (``--max-prompt-tokens N --tokenizer PATH``).

The tokenizer comes from a local directory only (never downloaded); ``transformers`` is imported
lazily so ``data_prep`` works without it. The length is that of the chat-templated prompt with the
generation prompt appended, which is what verl's ``data.max_prompt_length`` measures.
"""

from __future__ import annotations

import os
from typing import Any, Sequence


class PromptLengthFilter:
    def __init__(self, tokenizer_path: str, max_tokens: int) -> None:
        if not os.path.isdir(tokenizer_path):
            raise ValueError(f"--tokenizer must be a local directory, got {tokenizer_path!r}")
        from transformers import AutoTokenizer  # lazy: optional dependency

        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
        self.max_tokens = max_tokens

    def length(self, messages: Sequence[dict[str, str]]) -> int:
        ids: Any = self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "keys"):  # transformers 5 may return a BatchEncoding
            ids = ids["input_ids"]
        return len(ids)

    def too_long(self, messages: Sequence[dict[str, str]]) -> bool:
        return self.length(messages) > self.max_tokens
