"""A tiny byte-level BPE tokenizer with a Qwen-style chat template, built offline in about a second.

verl's ``RewardLoopWorker`` loads a tokenizer from ``actor_rollout_ref.model.path`` to decode
responses. The demo and the CPU tests have no model to download, so they build this one instead and
point ``model.path`` at its directory. Byte-level BPE round-trips any text exactly (unknown words
fall back to bytes), so decoding gives back exactly what was encoded; only ``<|im_start|>``,
``<|im_end|>`` and ``<|endoftext|>`` are special tokens (verl decodes with
``skip_special_tokens=True``, so ``<think>``/``<answer>``/``<tool_call>`` must stay plain text).

``transformers`` and ``tokenizers`` are imported inside the function: the reward library must import
without them.

>>> import tempfile
>>> tok = build_tiny_tokenizer(tempfile.mkdtemp())
>>> text = "<think>ok</think><answer>[f(a=1)]</answer>"
>>> tok.decode(tok(text)["input_ids"]) == text
True
>>> tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
'<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n'
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")  # Qwen2.5's names: pad/eos and chat markers
VOCAB_SIZE = 600  # byte alphabet (256) + enough merges for the tags below; small keeps training < 1 s

# A Qwen2.5-like template: system/user/assistant/tool turns between <|im_start|> and <|im_end|>;
# tools (if given) listed in the system turn, one JSON object per line.
CHAT_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n"
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}\n\n{% endif %}"
    "# Tools\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{% for m in messages %}{% if not (tools and loop.first and m['role'] == 'system') %}"
    "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Text the merges are learnt from: the tags of every output format and some call syntax.
BASE_CORPUS = (
    "<think> </think> <answer> </answer> <tool_call> </tool_call> <response> </response>",
    '{"name": "get_weather", "arguments": {"city": "Paris"}} {"name": "f", "parameters": {"x": 1}}',
    "[get_weather(city='Paris', unit='celsius'), f(a=1, b=\"x\")] system user assistant tool",
    "The user wants the weather. I should call the function with the right arguments.",
)


def build_tiny_tokenizer(
    path: str | Path, corpus: Iterable[str] = (), vocab_size: int = VOCAB_SIZE,
    chat_template: str | None = CHAT_TEMPLATE,
):
    """Train the tokenizer, save it (``save_pretrained``) to ``path`` and return it.

    ``corpus`` adds texts to learn merges from (fewer tokens for them; correctness does not depend
    on it); a larger ``vocab_size`` keeps more of those merges. ``chat_template``: the Jinja template
    saved with it (the prompt-parity tests pass each model family's released template; None saves
    none, like a base checkpoint without a template). The returned object is a
    ``transformers.PreTrainedTokenizerFast``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts = list(BASE_CORPUS) * 20 + list(corpus)
    bpe.train_from_iterator(texts, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token="<|endoftext|>", eos_token="<|im_end|>", unk_token=None
    )
    if chat_template is not None:
        tok.chat_template = chat_template
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(out))
    return tok
