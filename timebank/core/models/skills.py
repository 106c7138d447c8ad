"""The skills taxonomy shared by exchanges and listings."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core.models.names import N_, NamedKind
from timebank.infra.extensions import Model, db

DEFAULT_CATEGORIES = [
    ("befriending", N_("Befriending and companionship")),
    ("cooking", N_("Cooking and meals")),
    ("diy", N_("DIY and small repairs")),
    ("gardening", N_("Gardening")),
    ("lifts", N_("Lifts and accompanying")),
    ("shopping", N_("Shopping and errands")),
    ("tech", N_("Computers and phones")),
    ("languages", N_("Languages and conversation")),
    ("learning", N_("Teaching and homework help")),
    ("admin", N_("Letters, forms and paperwork")),
    ("crafts", N_("Sewing, knitting and crafts")),
    ("pets", N_("Pet care")),
    ("childcare", N_("Childminding and play")),
    ("wellbeing", N_("Exercise and wellbeing")),
    ("music", N_("Music and arts")),
    ("community", N_("Community events and groups")),
    ("other", N_("Something else")),
]


class Category(NamedKind, Model):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


def seed_categories() -> int:
    """Add any default category that is missing; return how many were added."""
    existing = set(db.session.scalars(db.select(Category.slug)))
    added = 0
    for slug, name in DEFAULT_CATEGORIES:
        if slug not in existing:
            db.session.add(Category(slug=slug, name=name))
            added += 1
    return added
