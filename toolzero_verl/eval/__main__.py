"""``python -m toolzero_verl.eval`` = ``toolzero-eval``."""

import sys

from toolzero_verl.eval.cli import main

sys.exit(main())
