"""Co-design: residents' ideas for the area, the support and ratings that rank them on
merit, comments, the proposer's revisions, and the public answers given to them.

An idea belongs to the council area (every bank in it sees it), not to one bank.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model, db

if TYPE_CHECKING:
    from timebank.core.models.members import Member


class IdeaStatus(StrEnum):
    NEW = "new"
    DISCUSSING = "discussing"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_NOW = "not_now"


STATUS_WORDS = {
    IdeaStatus.NEW: _l("New"),
    IdeaStatus.DISCUSSING: _l("Under discussion"),
    IdeaStatus.PLANNED: _l("Planned"),
    IdeaStatus.IN_PROGRESS: _l("In progress"),
    IdeaStatus.DONE: _l("Done"),
    IdeaStatus.NOT_NOW: _l("Not now"),
}

# The criteria members rate an idea on, each from 1 (not at all) to 4 (very much).
CRITERIA = {
    "benefits": _l("Who benefits: does it meet a real need of many neighbours?"),
    "builds": _l("Builds on what we have: assets, skills and people already here"),
    "together": _l("Can we do it together: could residents help make it happen?"),
}


class Idea(Model):
    __tablename__ = "idea"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    need: Mapped[str] = mapped_column(Text)  # the need it meets
    builds_on: Mapped[str] = mapped_column(Text, default="")  # assets, skills on offer
    takes: Mapped[str] = mapped_column(Text, default="")  # what it would take
    category_id: Mapped[int | None] = mapped_column(ForeignKey("asset_category.id"))
    # Where, if anywhere: a point, a neighbourhood, a coverage-gap cell or an asset.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    neighbourhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighbourhood.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"))
    gap_cell: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(12), default=IdeaStatus.NEW, index=True)
    answer: Mapped[str] = mapped_column(Text, default="")  # the latest public answer
    answered_at: Mapped[datetime | None]
    proposer_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    show_name: Mapped[bool] = mapped_column(default=False)  # on the public pages
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposer: Mapped[Member] = relationship("Member", lazy="joined")

    @property
    def status_word(self) -> str:
        return str(STATUS_WORDS.get(IdeaStatus(self.status), self.status))


class IdeaRevision(Model):
    """The idea as it read before each revision by its proposer (nothing is lost)."""

    __tablename__ = "idea_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    need: Mapped[str] = mapped_column(Text)
    builds_on: Mapped[str] = mapped_column(Text, default="")
    takes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdeaSupport(Model):
    """One member's support: one each, held by the database's unique constraint."""

    __tablename__ = "idea_support"
    __table_args__ = (db.UniqueConstraint("idea_id", "member_id", name="one_support_each"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdeaRating(Model):
    """One member's rating on the three criteria (1–4 each); they may change it."""

    __tablename__ = "idea_rating"
    __table_args__ = (db.UniqueConstraint("idea_id", "member_id", name="one_rating_each"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    benefits: Mapped[int] = mapped_column(Integer)
    builds: Mapped[int] = mapped_column(Integer)
    together: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdeaComment(Model):
    __tablename__ = "idea_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Member] = relationship("Member", lazy="joined")


class IdeaAnswer(Model):
    """Each status given to an idea, with its written answer, in order: the public
    record of "you said, we did"."""

    __tablename__ = "idea_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    answer: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdeaRole(Model):
    """A part someone could play in delivering a planned idea; volunteering for it posts
    an offer of help, linked to the role (``Listing.idea_role_id``)."""

    __tablename__ = "idea_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))  # kind of help
    people: Mapped[int] = mapped_column(Integer, default=1)  # how many it needs
    created_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
