"""data_prep: ToolACE / xLAM-60k / Hammer / ToolRL corpora -> validated, deduplicated verl parquet.

Console script ``toolzero-prep`` (:mod:`data_prep.cli`), also ``python -m data_prep``. Imports
without torch, ray, verl or transformers (the optional tokenizer filter imports transformers lazily).

>>> from data_prep import PrepConfig
>>> PrepConfig(out="out").output_format
'answer'
"""

from .config import PrepConfig
from .pipeline import run
from .sample import Message, Rejected, Sample

__all__ = ["PrepConfig", "run", "Sample", "Message", "Rejected"]
