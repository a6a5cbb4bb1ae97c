"""``python -m data_prep`` = ``toolzero-prep``."""

import sys

from .cli import main

if __name__ == "__main__":  # guarded so doctest/module collectors can import this file
    sys.exit(main())
