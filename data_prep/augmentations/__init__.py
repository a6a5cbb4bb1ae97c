"""Tool Zero's data augmentations, applied to a split after mixing and splitting (docs/data.md §11).

- :mod:`~data_prep.augmentations.apply`: their configuration (one rate each), the order they run in,
  the seeded per-sample draw, and the accounting in ``report.json``;
- :mod:`~data_prep.augmentations.masking`: Tool Zero's ``func_1``/``param_1`` renaming and Hammer's
  random function masking;
- :mod:`~data_prep.augmentations.irrelevance`: a no-call copy without the gold tools;
- :mod:`~data_prep.augmentations.multi_turn`: the four multi-turn augmentations (concatenate,
  remove and reintroduce a tool, ask for a missing value, check and correct a call).
"""
