"""The verl-free core: what the policy writes and what is right, without torch, ray or verl.

Floors, bottom up (each module imports only the ones before it):

- :mod:`~toolzero_verl.core.logs`, :mod:`~toolzero_verl.core.options` (typed option validation),
  :mod:`~toolzero_verl.core.clock` (training step and progress), :mod:`~toolzero_verl.core.schedules` (σ(t)),
  :mod:`~toolzero_verl.core.atomic` (atomic writes);
- :mod:`~toolzero_verl.core.calls` (the one ``ToolCall``), :mod:`~toolzero_verl.core.tags`,
  :mod:`~toolzero_verl.core.pycalls` (safe Python-call parsing);
- :mod:`~toolzero_verl.core.ground_truth` (the reference of a row);
- :mod:`~toolzero_verl.core.formats` (the output formats), :mod:`~toolzero_verl.core.matching`
  (BFCL's AST check), :mod:`~toolzero_verl.core.prompt` (the system prompt data_prep and eval render).

The layer picture and data flow: docs/architecture.md.
"""
