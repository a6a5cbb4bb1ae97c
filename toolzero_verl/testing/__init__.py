"""Support for the tests, the demo and the CPU end-to-end tier; never imported by the library.

- :mod:`~toolzero_verl.testing.tiny_tokenizer`: a byte-level tokenizer with a Qwen-style chat
  template, trained offline in about a second (no model download);
- :mod:`~toolzero_verl.testing.examples`: the bundled example corpora and the recipes of a source
  checkout (convert, print a recipe's overrides).

Everything here may import verl, torch or transformers inside its functions.
"""
