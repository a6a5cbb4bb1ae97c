"""The runnable examples in data_prep's docstrings."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import data_prep

MODULES = sorted(m.name for m in pkgutil.walk_packages(data_prep.__path__, "data_prep.") if not m.name.endswith("__main__"))


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
