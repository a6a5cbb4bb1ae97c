"""``python -m toolzero_verl.eval`` = ``toolzero-eval``."""

import sys

from .cli import main

sys.exit(main())
