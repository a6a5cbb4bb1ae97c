"""Support for the tests, the demo and the CPU end-to-end tier; never imported by the library.

- :mod:`.tiny_tokenizer` — a tiny offline byte-level tokenizer with a Qwen-style chat template.
- :mod:`.tiny_model` — a tiny Qwen2 built on it, warm-started on the example answers (CPU tier).
- :mod:`.cpu_platform` — the CPU platform shim that lets ``python -m verl.trainer.main_ppo`` run on a
  CPU with vLLM's CPU build; loaded only through ``VERL_USE_EXTERNAL_MODULES``.
- :mod:`.cpu_run` — launches ``recipes/cpu_tiny.sh`` for the CPU tier's tests (the e2e venv, timeouts, metrics).
- :mod:`.fsdp_checkpoint` — a real verl FSDP actor checkpoint of a tiny Qwen2 (``toolzero-eval merge`` tests).
- :mod:`.bfcl_canned` — canned BFCL responses in our formats, for BFCL's own evaluator on our handler.
- :mod:`.examples` — the bundled example corpora and the recipes of a source checkout.
- :mod:`.budget` — hypothesis example counts: full in ``make test``, a tenth in the fast tier.
- :mod:`.import_blocker` — makes verl, torch and ray unimportable (the fast tier, the layer test).

Nothing is imported here, so importing one of them stays as cheap as that module; each may import
verl, torch or transformers inside its functions.
"""
