"""timebank: a neighbourhood time bank and community asset map.

The root package imports nothing when it loads: Python runs it before any of its
modules, so ``import timebank.infra.clock`` must not bring in the web layer and every
feature. ``create_app`` (what ``flask --app timebank`` and ``wsgi.py`` call) is in
``timebank/app.py``.
"""

from __future__ import annotations

from typing import Any


def create_app(config: dict[str, Any] | None = None):
    # Local: the root package loads before its modules (see above).
    from timebank.app import create_app as build

    return build(config)
