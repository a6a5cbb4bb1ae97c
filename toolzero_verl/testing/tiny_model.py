"""A tiny Qwen2 for the CPU end-to-end tier, warm-started so that GRPO has something to learn from.

A random model answers every prompt of a GRPO group equally badly: all rewards in a group are equal,
the advantages and ``pg_loss`` are 0, and a run proves only the entropy term. So this module

1. builds :mod:`.tiny_tokenizer` with its merges learnt from the converted rows' prompts and reference
   answers (prompts shrink from 846-1867 to about 350-810 tokens, answers to at most ~75);
2. builds a random ``Qwen2ForCausalLM`` (default 0.4 M parameters, tied embeddings, fp32);
3. trains it for :data:`WARM_START_STEPS` AdamW steps (mini-batches of 8 rows of similar length,
   ~30 s on one core) on (prompt -> reference answer) pairs: the row's ground truth rendered in the
   ``answer`` format (Tool Zero's ``<think>…</think><answer>[…]``), loss on the answer tokens and
   the end-of-turn token only. Stopped early, it half-memorises the answers, so sampling at
   temperature 0.8 gives exact answers, near misses (a wrong value or name) and broken output in
   the same group: GG-GRPO's rewards vary within groups.

Everything is seeded (model init, batch order; no dropout; one thread), so the same data and
arguments give the same weights (checked: identical ``model.safetensors`` from two runs). Not a
tool-calling model: it half-memorises 38 rows.

CLI (``recipes/cpu_tiny.sh`` calls it)::

    python -m toolzero_verl.testing.tiny_model --data prep/train.parquet prep/test.parquet --out model/
    python -m toolzero_verl.testing.tiny_model ... --steps 0          # random weights (no warm start)
    python -m toolzero_verl.testing.tiny_model ... --check 4          # then sample 4 answers per prompt

The output directory is a Hugging Face model directory (``config.json``, ``model.safetensors``, the
tokenizer) usable as ``actor_rollout_ref.model.path``, plus ``warm_start.json`` (losses, time, check).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from toolzero_verl.core.episode import gold_turn, is_episode, load_episode
from toolzero_verl.core.formats import get_format
from toolzero_verl.core.ground_truth import load_ground_truth

OUTPUT_FORMAT = "answer"
THINK = "I call the matching function."  # the same short reasoning in every reference answer
VOCAB_SIZE = 1024  # enough merges that the example prompts fit max_prompt_length=1024
WARM_START_STEPS = 60  # loss 7.0 -> ~1.2: exact answers, near misses and broken ones at temperature 0.8
# One thread: on a 2-core machine shared with other work, two OpenMP threads ran 40 steps in 75 s
# instead of 19 s for one (each thread waits for the other at every barrier).
THREADS = 1


@dataclass(frozen=True)
class ModelSize:
    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 2  # head_dim 64 (what vLLM's CPU attention was tried with)
    num_key_value_heads: int = 2


@dataclass(frozen=True)
class Pair:
    messages: list  # the row's chat prompt
    answer: str  # its reference answer, rendered in the output format
    ground_truth: str


def first_answer(gt_text: str, fmt) -> str:
    """The reference answer of a row in ``fmt``; for an episode row (toolzero-prep --agent-loop), its first
    gold turn: an episode's prompt asks for that turn, so the warm-started model makes calls the agent loop
    executes (a model warm-started on the single-turn prompts wrote almost none on the episode prompts)."""
    if is_episode(gt_text):
        episode = load_episode(gt_text)
        return gold_turn(episode, episode.points[0], fmt, think=THINK)
    gt = load_ground_truth(gt_text)
    return fmt.render(gt.calls, gt.answer, think=THINK)


def reference_pairs(parquet_files: Sequence[str | Path], output_format: str = OUTPUT_FORMAT) -> list[Pair]:
    """(prompt, reference answer rendered in ``output_format``) for every row of toolzero-prep parquet files."""
    import pandas as pd

    fmt = get_format(output_format)
    pairs = []
    for path in parquet_files:
        for row in pd.read_parquet(path).itertuples():
            gt_text = row.reward_model["ground_truth"]
            messages = [{"role": m["role"], "content": m["content"]} for m in row.prompt]
            pairs.append(Pair(messages, first_answer(gt_text, fmt), gt_text))
    if not pairs:
        raise ValueError(f"no rows in {list(map(str, parquet_files))}")
    return pairs


def build_tokenizer(out: Path, pairs: Sequence[Pair], vocab_size: int = VOCAB_SIZE):
    from .tiny_tokenizer import build_tiny_tokenizer

    corpus = [p.answer for p in pairs] + [m["content"] for p in pairs for m in p.messages]
    return build_tiny_tokenizer(out, corpus, vocab_size=vocab_size)


def build_model(tokenizer, size: ModelSize = ModelSize(), seed: int = 0):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="float32",
        **asdict(size),
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def encode_pairs(tokenizer, pairs: Sequence[Pair]) -> list[tuple[list[int], list[int]]]:
    """``(input_ids, labels)`` per pair: prompt + answer + end-of-turn, labels -100 on the prompt."""
    rows = []
    for pair in pairs:
        prompt = list(tokenizer.apply_chat_template(pair.messages, tokenize=True,
                                                    add_generation_prompt=True)["input_ids"])
        answer = tokenizer(pair.answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append((prompt + answer, [-100] * len(prompt) + answer))
    return rows


def length_batches(rows, batch_size: int, pad_id: int):
    """Right-padded tensors ``(input_ids, attention_mask, labels)`` of rows of similar length (less padding)."""
    import torch

    ordered = sorted(rows, key=lambda r: len(r[0]))
    batches = []
    for start in range(0, len(ordered), batch_size):
        chunk = ordered[start : start + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        batches.append((
            torch.tensor([ids + [pad_id] * (width - len(ids)) for ids, _ in chunk]),
            torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chunk]),
            torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in chunk]),
        ))
    return batches


def warm_start(model, tokenizer, pairs: Sequence[Pair], steps: int, lr: float = 3e-3, seed: int = 0,
               batch_size: int = 8) -> list[float]:
    """AdamW on the reference answers, mini-batches of similar length in a seeded order; returns the losses."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    batches = length_batches(encode_pairs(tokenizer, pairs), batch_size, tokenizer.pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    losses: list[float] = []
    while len(losses) < steps:
        for index in torch.randperm(len(batches), generator=generator).tolist()[: steps - len(losses)]:
            ids, mask, labels = batches[index]
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(round(loss.item(), 4))
    model.eval()
    return losses


def sample_check(model, tokenizer, pairs: Sequence[Pair], n: int, temperature: float = 0.8, max_new_tokens: int = 128,
                 seed: int = 0, output_format: str = OUTPUT_FORMAT) -> dict:
    """Sample ``n`` answers per prompt; count exact (AST-exact), well-formed and broken ones, and the
    prompts whose ``n`` GG-GRPO scores (at σ = 0.5) are not all equal."""
    import torch

    from toolzero_verl.rewards.scoring import compute_score

    torch.manual_seed(seed)
    counts = {"exact": 0, "well_formed": 0, "broken": 0, "groups_with_varied_scores": 0, "groups": len(pairs)}
    for pair in pairs:
        prompt = tokenizer.apply_chat_template(pair.messages, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
        with torch.no_grad():
            out = model.generate(
                **prompt, do_sample=True, temperature=temperature, top_p=1.0, top_k=0,
                max_new_tokens=max_new_tokens, num_return_sequences=n, pad_token_id=tokenizer.pad_token_id,
            )
        scores = []
        for seq in out[:, prompt["input_ids"].shape[1]:]:
            text = tokenizer.decode(seq, skip_special_tokens=True)
            reward = "gg_grpo_episode" if is_episode(pair.ground_truth) else "gg_grpo"  # the first turn only
            result = compute_score("check", text, pair.ground_truth, {"split": "train", "global_steps": 0},
                                   reward=reward, output_format=output_format, kappa=1.0, midpoint=0)
            scores.append(result["score"])
            counts["exact" if result["ast"] == 1.0 else "well_formed" if result["format"] == 1.0 else "broken"] += 1
        counts["groups_with_varied_scores"] += max(scores) != min(scores)
    return counts


def build(data: Sequence[str | Path], out: str | Path, steps: int = WARM_START_STEPS, lr: float = 3e-3, seed: int = 0,
          size: ModelSize = ModelSize(), check: int = 0, threads: int = THREADS,
          output_format: str = OUTPUT_FORMAT) -> dict:
    """Tokenizer + model (+ warm start) into ``out``; returns what ``warm_start.json`` records."""
    import torch

    torch.set_num_threads(threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    pairs = reference_pairs(data, output_format)
    tokenizer = build_tokenizer(out, pairs)
    model = build_model(tokenizer, size, seed)
    losses = warm_start(model, tokenizer, pairs, steps, lr, seed) if steps else []
    model.save_pretrained(out)
    info = {
        "rows": len(pairs), "output_format": output_format,
        "parameters": sum(p.numel() for p in model.parameters()), "vocab": len(tokenizer),
        "size": asdict(size), "steps": steps, "lr": lr, "seed": seed, "seconds": round(time.time() - t0, 1),
        "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None, "losses": losses,
        "answer_tokens_max": max(len(tokenizer(p.answer)["input_ids"]) + 1 for p in pairs),
    }
    if check:
        info["check"] = sample_check(model, tokenizer, pairs, check, seed=seed, output_format=output_format)
    (out / "warm_start.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toolzero_verl.testing.tiny_model",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", required=True, help="toolzero-prep parquet files (answer format)")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--steps", type=int, default=WARM_START_STEPS,
                        help=f"warm-start steps; 0 = random weights (default {WARM_START_STEPS})")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden-size", type=int, default=ModelSize.hidden_size)
    parser.add_argument("--intermediate-size", type=int, default=ModelSize.intermediate_size)
    parser.add_argument("--layers", type=int, default=ModelSize.num_hidden_layers)
    parser.add_argument("--heads", type=int, default=ModelSize.num_attention_heads)
    parser.add_argument("--output-format", default=OUTPUT_FORMAT,
                        help=f"format of the reference answers (default {OUTPUT_FORMAT})")
    parser.add_argument("--check", type=int, default=0, help="after training, sample N answers per prompt and count")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"torch threads (default {THREADS})")
    args = parser.parse_args(argv)
    size = ModelSize(args.hidden_size, args.intermediate_size, args.layers, args.heads, args.heads)
    info = build(args.data, args.out, args.steps, args.lr, args.seed, size, args.check, args.threads,
                 args.output_format)
    summary = {k: v for k, v in info.items() if k != "losses"}
    print(f"tiny model -> {args.out}: {json.dumps(summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
