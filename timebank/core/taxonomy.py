"""The two taxonomies (kinds of help, kinds of asset), edited the same way.

Admins add names, and retire rather than delete, so old records keep their label.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from timebank.core.errors import Refused
from timebank.core.models import AssetCategory, Category, Member
from timebank.core.models.audit import record as audit
from timebank.infra.extensions import db

# URL name → (model, audit type); the forms are the web layer's (admin/forms.py).
TAXONOMIES: dict[str, tuple[Any, str]] = {
    "categories": (Category, "category"),
    "asset-categories": (AssetCategory, "asset_category"),
}


class TaxonomyError(Refused):
    pass


def items(kind: str) -> list:
    model = TAXONOMIES[kind][0]
    order = model.position if model is AssetCategory else model.name
    return list(db.session.scalars(select(model).order_by(order)))


def _names(names: dict[str, str] | None) -> dict[str, str]:
    """Only the languages given a name (an empty one falls back to English)."""
    return {code: value.strip()[:80] for code, value in (names or {}).items()
            if value and value.strip()}


def add(kind: str, name: str, by: Member, colour: str = "",
        names: dict[str, str] | None = None) -> None:
    model, audit_type = TAXONOMIES[kind]
    name = name.strip()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or audit_type
    if db.session.scalar(select(model.id).where((model.slug == slug) | (model.name == name))):
        raise TaxonomyError(_("There is already one with that name."))
    item = model(slug=slug, name=name, names=_names(names))
    if model is AssetCategory:
        item.colour = colour.lower()
        item.position = (db.session.scalar(select(func.max(model.position))) or 0) + 1
    db.session.add(item)
    db.session.flush()
    audit(by.id, f"{audit_type}.create", audit_type, item.id, name=name)
    db.session.commit()


def set_active(kind: str, item_id: int, active: bool, by: Member):
    model, audit_type = TAXONOMIES[kind]
    item = db.get_or_404(model, item_id)
    item.active = active
    audit(by.id, f"{audit_type}.{'restore' if active else 'retire'}", audit_type, item.id)
    db.session.commit()
    return item


def set_names(kind: str, item_id: int, names: dict[str, str], by: Member):
    """A kind's names in the other languages (empty: back to English, or to the
    catalogue's words for a kind the site was seeded with)."""
    model, audit_type = TAXONOMIES[kind]
    item = db.get_or_404(model, item_id)
    item.names = _names(names)
    audit(by.id, f"{audit_type}.names", audit_type, item.id, names=item.names)
    db.session.commit()
    return item
