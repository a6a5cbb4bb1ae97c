"""Build hook for the optional compiled call reader (everything else is in pyproject.toml).

``toolzero_verl.core._callreader`` reads the simple call lists of the ``answer`` format several times
faster than the Python token walk it mirrors (docs/rewards.md, "Speed"). It is optional: without a C
compiler or Python's headers the build skips it and ``toolzero_verl.core.pycalls`` uses its Python
reader, which gives the same calls.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("toolzero_verl.core._callreader", ["toolzero_verl/core/_callreader.c"], optional=True)])
