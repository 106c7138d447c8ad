"""The skills taxonomy shared by exchanges and listings."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

DEFAULT_CATEGORIES = [
    ("befriending", "Befriending and companionship"),
    ("cooking", "Cooking and meals"),
    ("diy", "DIY and small repairs"),
    ("gardening", "Gardening"),
    ("lifts", "Lifts and accompanying"),
    ("shopping", "Shopping and errands"),
    ("tech", "Computers and phones"),
    ("languages", "Languages and conversation"),
    ("learning", "Teaching and homework help"),
    ("admin", "Letters, forms and paperwork"),
    ("crafts", "Sewing, knitting and crafts"),
    ("pets", "Pet care"),
    ("childcare", "Childminding and play"),
    ("wellbeing", "Exercise and wellbeing"),
    ("music", "Music and arts"),
    ("community", "Community events and groups"),
    ("other", "Something else"),
]


class Category(db.Model):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
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
