"""Events: a bank's (or the whole area's) litter picks, repair cafés, lunch clubs and
co-design sessions. Members sign up to help or to come; afterwards a coordinator ticks
who came, and every helper who came earns the event's time from the bank's community
pool (one group activity, paid once).

Co-design sessions are events of a kind (``EventKind.CODESIGN``), linked to the ideas
they are about: everyone at one takes part, so everyone who signs up is a helper.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model, db

if TYPE_CHECKING:
    from timebank.core.models.members import Member


class EventKind(StrEnum):
    GATHERING = "gathering"
    CODESIGN = "codesign"


KIND_WORDS = {EventKind.GATHERING: _l("Event"), EventKind.CODESIGN: _l("Co-design session")}


class Event(Model):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default=EventKind.GATHERING)
    title: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(Text, default="")  # what it is for
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime | None]
    place: Mapped[str] = mapped_column(String(200))
    accessibility: Mapped[str] = mapped_column(Text, default="")
    # Listed by every bank of the area, and anyone in it may come (helpers still earn
    # from this bank's pool, so they are its members).
    area_wide: Mapped[bool] = mapped_column(default=False)
    # The kind of help the helpers give: its safeguarding checks apply to them.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    helpers_wanted: Mapped[int] = mapped_column(Integer, default=0)
    helper_minutes: Mapped[int] = mapped_column(Integer, default=0)  # each helper who came
    places: Mapped[int | None] = mapped_column(Integer)  # for those coming; None: no cap
    created_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who came is recorded once: then, and the group activity that paid the helpers.
    attendance_at: Mapped[datetime | None]
    activity_key: Mapped[str | None] = mapped_column(String(64))
    reminded_at: Mapped[datetime | None]  # the day-before reminder went

    @property
    def kind_word(self) -> str:
        return str(KIND_WORDS.get(EventKind(self.kind), self.kind))


class EventIdea(Model):
    """The ideas a co-design session is about."""

    __tablename__ = "event_idea"
    __table_args__ = (db.UniqueConstraint("event_id", "idea_id", name="once_per_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id"), index=True)


class EventSignup(Model):
    __tablename__ = "event_signup"
    __table_args__ = (db.UniqueConstraint("event_id", "member_id", name="one_place_each"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    helping: Mapped[bool] = mapped_column(default=False)  # else coming
    attended: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship("Member", lazy="joined")
