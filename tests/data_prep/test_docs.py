"""The runnable examples in data_prep's docstrings."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import data_prep

MODULES = sorted(m.name for m in pkgutil.walk_packages(data_prep.__path__, "data_prep.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_imports_without_heavy_deps():
    import subprocess
    import sys

    code = ("import sys, data_prep, data_prep.cli, data_prep.pipeline\n"
            "bad = [m for m in ('torch', 'ray', 'verl', 'transformers') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_citations_are_self_contained_and_resolve():
    """data_prep and its tests cite docs/data.md sections that exist, papers or upstream files by path,
    never documents outside the repository."""
    import re
    from pathlib import Path

    repo = Path(data_prep.__file__).resolve().parents[1]
    docs = (repo / "docs" / "data.md").read_text()
    sections = set(re.findall(r"^## (\d+)\.", docs, re.MULTILINE))
    outside = re.compile(r"SPEC §|reference/|corpora_formats|\.\./shared|\b[Ii]ssue \d")
    files = [*(repo / "data_prep").rglob("*.py"), *(repo / "tests" / "data_prep").glob("*.py")]
    for path in files:
        if path.name == "test_docs.py":
            continue
        text = path.read_text()
        assert not outside.search(text), (path.name, outside.search(text).group())
        for n in re.findall(r"docs/data\.md §(\d+)", text):
            assert n in sections, (path.name, n)
    assert not outside.search(docs), outside.search(docs).group()


def test_every_reason_code_is_documented():
    from pathlib import Path

    from data_prep.reasons import REASONS

    docs = (Path(data_prep.__file__).resolve().parents[1] / "docs" / "data.md").read_text()
    assert [r for r in sorted(REASONS) if f"| `{r}` |" not in docs] == []
