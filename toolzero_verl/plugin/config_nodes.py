"""verl's config nodes as plain data: the options our plugin reads from verl's Hydra config.

verl hands its components OmegaConf nodes (or plain dicts in tests and older call sites); our option
dataclasses (:class:`toolzero_verl.core.options.Options`) validate plain mappings.

>>> plain_config(None), plain_config({"a": 1})
({}, {'a': 1})
"""

from __future__ import annotations

from typing import Any


def plain_config(node: Any) -> dict:
    """A config node (OmegaConf or mapping; None) as a plain dict, interpolations resolved."""
    if node is None:
        return {}
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(node):
            return dict(OmegaConf.to_container(node, resolve=True))
    except ImportError:  # pragma: no cover - omegaconf ships with verl
        pass
    return dict(node)
