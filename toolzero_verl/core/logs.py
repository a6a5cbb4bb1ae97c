"""The library's logger and a once-per-process warning, for conditions worth one line, not one per row.

GRPO scores every prompt ``n`` times per step on several reward workers, so a per-row warning would
flood the logs; :func:`warn_once` says it once per key and process.

>>> warn_once("doc-example", "shown once")
True
>>> warn_once("doc-example", "shown once")
False
"""

from __future__ import annotations

import logging

logger = logging.getLogger("toolzero_verl")
_warned: set[str] = set()


def warn_once(key: str, message: str) -> bool:
    """Log ``message`` at WARNING the first time ``key`` is seen; True when it was logged."""
    if key in _warned:
        return False
    _warned.add(key)
    logger.warning(message)
    return True
