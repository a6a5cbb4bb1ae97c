"""``toolzero-eval``: from a verl checkpoint to numbers, with the training scorer and with BFCL's own evaluator
(docs/eval.md).

- :mod:`~toolzero_verl.eval.merge`: verl FSDP checkpoint -> Hugging Face folder (verl's own merger);
- :mod:`~toolzero_verl.eval.generate`: generation with vLLM, as verl's rollout renders and decodes;
- :mod:`~toolzero_verl.eval.generations`: the generations JSONL schema, reading and joining;
- :mod:`~toolzero_verl.eval.jsonl`: bounded JSON Lines reading for hostile files;
- :mod:`~toolzero_verl.eval.score`: parquet rows + generations -> per-source / per-category metrics;
- :mod:`~toolzero_verl.eval.bfcl_data`: reading a BFCL data folder, every record checked;
- :mod:`~toolzero_verl.eval.bfcl`: BFCL entries -> prompts, ground truths, categories;
- :mod:`~toolzero_verl.eval.leaderboard`: BFCL's v3 and v4 summary formulas;
- :mod:`~toolzero_verl.eval.bfcl_decode` and :mod:`~toolzero_verl.eval.official`: our handler for
  bfcl-eval and ``bfcl-official`` (BFCL's own generate/evaluate);
- :mod:`~toolzero_verl.eval.manifest` and :mod:`~toolzero_verl.eval.compare`: what produced a number, and
  ``compare`` / ``merge-metrics``;
- :mod:`~toolzero_verl.eval.run_log` and :mod:`~toolzero_verl.eval.curves`: a training run's logged metrics
  (verl's file-logger JSONL or console) -> a text summary and plots (``toolzero-eval curves``);
- :mod:`~toolzero_verl.eval.errors`: BFCL error strings -> report columns;
- :mod:`~toolzero_verl.eval.paths`: checking paths before any work;
- :mod:`~toolzero_verl.eval.cli`: the command line (``toolzero-eval`` / ``python -m toolzero_verl.eval``).
"""

from toolzero_verl.eval.generations import Generations, read_generations
from toolzero_verl.eval.score import Report, ScoreOptions, load_rows, score_rows

__all__ = ["Generations", "read_generations", "Report", "ScoreOptions", "load_rows", "score_rows"]
