"""Test and demo support code; never imported by the reward library or the verl plugin.

- :mod:`.tiny_tokenizer` — a tiny offline byte-level tokenizer with a Qwen-style chat template.
- :mod:`.tiny_model` — a tiny Qwen2 built on it, warm-started on the example answers (CPU tier).
- :mod:`.cpu_platform` — the CPU platform shim that lets ``python -m verl.trainer.main_ppo`` run on a
  CPU with vLLM's CPU build; loaded only through ``VERL_USE_EXTERNAL_MODULES``.
- :mod:`.metrics_log` — reads the per-step metrics verl logs (file logger JSONL or console lines).

Nothing is imported here, so importing one of them stays as cheap as that module.
"""
