"""``toolzero-eval``: score checkpoints' generations with the training scorer (docs/eval.md).

- :mod:`~toolzero_verl.eval.generations`: the generations JSONL schema, reading and joining;
- :mod:`~toolzero_verl.eval.score`: parquet rows + generations -> per-source / per-category metrics;
- :mod:`~toolzero_verl.eval.bfcl`: BFCL-format data -> prompts, ground truths, categories, v3 summary;
- :mod:`~toolzero_verl.eval.errors`: BFCL error strings -> report columns;
- :mod:`~toolzero_verl.eval.generate`: optional generation with vLLM;
- :mod:`~toolzero_verl.eval.cli`: the command line (``toolzero-eval`` / ``python -m toolzero_verl.eval``).
"""

from toolzero_verl.eval.generations import Generations, read_generations
from toolzero_verl.eval.score import Report, ScoreOptions, load_rows, score_rows

__all__ = ["Generations", "read_generations", "Report", "ScoreOptions", "load_rows", "score_rows"]
