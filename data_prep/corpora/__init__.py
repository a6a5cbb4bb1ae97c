"""Corpus readers: one module per corpus, each turning one raw record into samples or rejections.

- :mod:`~data_prep.corpora.toolace`: ToolACE ``data.json`` dialogues, one sample per assistant turn;
- :mod:`~data_prep.corpora.xlam`: xLAM-60k records (``answers``/``tools`` as JSON strings);
- :mod:`~data_prep.corpora.hammer`: Hammer's irrelevance set (the xLAM schema, no-call answers);
- :mod:`~data_prep.corpora.toolrl`: ToolRL's released ``rlla_rl.json`` (``instruction/input/output``).

Each exposes ``convert_record(record, index, ...)``; :mod:`data_prep.convert` dispatches to them and
applies the one per-record policy (validate, or reject with a reason code). docs/data.md §1 describes
each corpus's format and quirks; adding a corpus means a module here plus an entry in
:data:`data_prep.convert.CONVERTERS` and :data:`data_prep.mix.SOURCES`.
"""
