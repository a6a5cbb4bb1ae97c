"""How many examples a hypothesis property draws: the full count in ``make test``, a tenth in the fast tier.

The equivalence properties of the parsers' fast paths draw thousands of examples each, which is most
of the verl-free tier's time. ``make test-fast`` (``TOOLZERO_FAST=1``) is the edit-and-rerun loop, so
it draws fewer; ``make test`` and CI always draw the full count.

>>> examples(3000) == (300 if FAST else 3000)
True
"""

from __future__ import annotations

import os

FAST = os.environ.get("TOOLZERO_FAST") == "1"
FAST_SHARE = 10  # the fast tier draws 1/FAST_SHARE of each property's examples ...
FAST_FLOOR = 20  # ... but never fewer than this


def examples(full: int) -> int:
    """``full`` normally; under ``TOOLZERO_FAST=1`` a tenth of it, at least ``FAST_FLOOR`` (or ``full`` if smaller)."""
    if not FAST:
        return full
    return min(full, max(FAST_FLOOR, full // FAST_SHARE))
