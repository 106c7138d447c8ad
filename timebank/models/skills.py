"""The skills taxonomy shared by exchanges and listings."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .names import N_, thing_name

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


class Category(db.Model):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    # The English name; ``name`` reads it in the reader's language (models/names.py).
    name_en: Mapped[str] = mapped_column("name", String(80))
    # Names an admin gave in other languages: {"cy": "...", "es": "..."}.
    names: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    active: Mapped[bool] = mapped_column(default=True)

    @hybrid_property
    def name(self) -> str:
        return thing_name(self.name_en, self.names)

    @name.inplace.setter
    def _name_setter(self, value: str) -> None:
        self.name_en = value

    @name.inplace.expression
    @classmethod
    def _name_expression(cls):
        return cls.name_en  # queries compare and sort by the English name


def seed_categories() -> int:
    """Add any default category that is missing; return how many were added."""
    existing = set(db.session.scalars(db.select(Category.slug)))
    added = 0
    for slug, name in DEFAULT_CATEGORIES:
        if slug not in existing:
            db.session.add(Category(slug=slug, name=name))
            added += 1
    return added
