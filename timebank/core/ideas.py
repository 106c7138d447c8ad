"""Ideas: proposing, revising, supporting, rating, commenting and answering in public.

Merit, not seniority. An idea's merit score is::

    merit = supporters + the sum, over its ratings, of (benefits + builds + together − 3) / 3

One point per supporter, and each rating adds 0 (1 of 4, "not at all", on all three
criteria) to 3 points (4 of 4 on all three). Nobody's role weighs: a coordinator's
support counts one, like anyone's. Ideas list by merit, then newest; the page shows the
score with its parts (supporters, ratings and each criterion's average).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from timebank.core import events, listings
from timebank.core.errors import Refused
from timebank.core.links import site_url
from timebank.core.models import (
    Asset,
    AssetCategory,
    Event,
    EventKind,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    Neighbourhood,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.models.ideas import (
    CRITERIA,
    STATUS_WORDS,
    Idea,
    IdeaAnswer,
    IdeaComment,
    IdeaRating,
    IdeaRevision,
    IdeaRole,
    IdeaStatus,
    IdeaSupport,
)
from timebank.core.notify import notify
from timebank.infra.db import locked, write_transaction
from timebank.infra.extensions import db

TEXT_FIELDS = ("title", "need", "builds_on", "takes")
PLACE_FIELDS = ("category_id", "neighbourhood_id", "asset_id", "gap_cell", "latitude",
                "longitude")


class IdeaRefused(Refused):
    pass


@dataclass(frozen=True)
class Merit:
    supporters: int = 0
    ratings: int = 0
    sums: tuple[int, int, int] = (0, 0, 0)  # benefits, builds, together

    @property
    def rating_points(self) -> float:
        return (sum(self.sums) - 3 * self.ratings) / 3

    @property
    def score(self) -> float:
        return round(self.supporters + self.rating_points, 2)

    @property
    def averages(self) -> dict[str, float | None]:
        return {key: round(total / self.ratings, 1) if self.ratings else None
                for key, total in zip(CRITERIA, self.sums, strict=True)}


def may_answer(member: Member) -> bool:
    """Coordinators (of any bank: ideas are the area's), council officers and admins
    answer ideas, in public."""
    return member.is_authenticated and (member.is_council or member.staff_somewhere())


def merits(idea_ids: list[int]) -> dict[int, Merit]:
    """Every idea's merit, in two GROUP BY queries."""
    if not idea_ids:
        return {}
    supporters = dict(db.session.execute(
        select(IdeaSupport.idea_id, func.count()).where(IdeaSupport.idea_id.in_(idea_ids))
        .group_by(IdeaSupport.idea_id)).all())
    ratings = {row[0]: row[1:] for row in db.session.execute(
        select(IdeaRating.idea_id, func.count(), func.sum(IdeaRating.benefits),
               func.sum(IdeaRating.builds), func.sum(IdeaRating.together))
        .where(IdeaRating.idea_id.in_(idea_ids)).group_by(IdeaRating.idea_id))}
    out = {}
    for idea_id in idea_ids:
        n, *sums = ratings.get(idea_id, (0, 0, 0, 0))
        out[idea_id] = Merit(int(supporters.get(idea_id, 0)), int(n),
                             (int(sums[0] or 0), int(sums[1] or 0), int(sums[2] or 0)))
    return out


def _merit_sql():
    """The merit score as SQL, to rank before the page's limit is applied."""
    supporters = (select(func.count(IdeaSupport.id)).where(IdeaSupport.idea_id == Idea.id)
                  .scalar_subquery())
    points = (select(func.coalesce(func.sum(IdeaRating.benefits + IdeaRating.builds
                                            + IdeaRating.together - 3), 0))
              .where(IdeaRating.idea_id == Idea.id).scalar_subquery())
    return supporters + points / 3.0


def ranked(status: str = "", neighbourhood_id: int | None = None,
           category_id: int | None = None, answered: bool = False,
           limit: int = 200) -> list[tuple[Idea, Merit]]:
    """Ideas by merit (then newest), filtered; ``answered``: only those given an answer."""
    query = select(Idea)
    if status:
        query = query.where(Idea.status == status)
    if neighbourhood_id:
        query = query.where(Idea.neighbourhood_id == neighbourhood_id)
    if category_id:
        query = query.where(Idea.category_id == category_id)
    if answered:
        query = query.where(Idea.answered_at.is_not(None))
    ideas = list(db.session.scalars(query.order_by(_merit_sql().desc(), Idea.created_at.desc(),
                                                   Idea.id.desc()).limit(limit)))
    found = merits([i.id for i in ideas])
    return [(i, found[i.id]) for i in ideas]


def propose(by: Member, values: dict) -> Idea:
    idea = Idea(proposer_id=by.id, **{k: values.get(k) for k in (*TEXT_FIELDS, *PLACE_FIELDS)
                                      if values.get(k) not in (None, "")},
                show_name=bool(values.get("show_name")))
    db.session.add(idea)
    db.session.flush()
    audit(by.id, "idea.propose", "idea", idea.id)
    db.session.commit()
    return idea


def may_revise(idea: Idea, person: Member) -> bool:
    """Only the person who proposed an idea changes it."""
    return person.is_authenticated and idea.proposer_id == person.id


def revise(idea: Idea, by: Member, values: dict) -> Idea:
    """The proposer changes their idea; the words before are kept as a revision."""
    if not may_revise(idea, by):
        raise IdeaRefused(_("Only the person who proposed an idea can change it."))
    with write_transaction():
        # Locked and read afresh: two revisions at once keep both earlier texts.
        idea = locked(Idea, idea.id)
        db.session.add(IdeaRevision(idea_id=idea.id, version=idea.version,
                                    **{k: getattr(idea, k) for k in TEXT_FIELDS}))
        for key in TEXT_FIELDS:
            setattr(idea, key, values.get(key) or "")
        idea.show_name = bool(values.get("show_name"))
        idea.version += 1
        idea.updated_at = utcnow()
        audit(by.id, "idea.revise", "idea", idea.id, version=idea.version)
    return idea


def support(idea: Idea, by: Member) -> bool:
    """Add ``by``'s support, once: two requests at once still make one row (the unique
    constraint decides). Returns False if they had already supported it."""
    try:
        with write_transaction():
            db.session.add(IdeaSupport(idea_id=idea.id, member_id=by.id))
    except IntegrityError:
        return False
    return True


def withdraw(idea: Idea, by: Member) -> None:
    with write_transaction():
        db.session.execute(delete(IdeaSupport).where(IdeaSupport.idea_id == idea.id,
                                                     IdeaSupport.member_id == by.id))


def supports(idea: Idea, member: Member | None) -> bool:
    if member is None or not member.is_authenticated:
        return False
    return db.session.scalar(select(IdeaSupport.id).where(
        IdeaSupport.idea_id == idea.id, IdeaSupport.member_id == member.id)) is not None


def rating_of(idea: Idea, member: Member | None) -> IdeaRating | None:
    if member is None or not member.is_authenticated:
        return None
    return db.session.scalar(select(IdeaRating).where(IdeaRating.idea_id == idea.id,
                                                      IdeaRating.member_id == member.id))


def rate(idea: Idea, by: Member, scores: dict[str, int]) -> None:
    """Rate (or re-rate) an idea on the three criteria, each 1 to 4."""
    if any(scores.get(k) not in (1, 2, 3, 4) for k in CRITERIA):
        raise IdeaRefused(_("Choose 1 to 4 for each question."))
    try:
        with write_transaction():
            rating = rating_of(idea, by)
            if rating is None:
                db.session.add(IdeaRating(idea_id=idea.id, member_id=by.id, **scores))
            else:
                for key, value in scores.items():
                    setattr(rating, key, value)
                rating.updated_at = utcnow()
    except IntegrityError:  # a second tab rated at the same moment: theirs stands
        pass


def comment(idea: Idea, by: Member, body: str) -> IdeaComment:
    note = IdeaComment(idea_id=idea.id, author_id=by.id, body=body)
    db.session.add(note)
    db.session.commit()
    return note


def answer(idea: Idea, by: Member, status: str, text: str) -> None:
    """Give the idea a status and a written answer, in public; the proposer and every
    supporter are told. "Not now" needs its reason."""
    if not may_answer(by):
        raise IdeaRefused(_("Only coordinators and council officers answer ideas."))
    status = IdeaStatus(status)
    text = (text or "").strip()
    if not text:
        raise IdeaRefused(_("Write the answer people will read."))
    idea.status, idea.answer, idea.answered_at = status, text, utcnow()
    db.session.add(IdeaAnswer(idea_id=idea.id, status=status, answer=text, by_id=by.id))
    audit(by.id, "idea.answer", "idea", idea.id, status=status)
    told = {idea.proposer_id, *db.session.scalars(
        select(IdeaSupport.member_id).where(IdeaSupport.idea_id == idea.id))} - {by.id}
    url = site_url("ideas.show", idea_id=idea.id)
    for member in db.session.scalars(select(Member).where(Member.id.in_(told),
                                                          Member.erased_at.is_(None))):
        notify(member, _l("The idea “%(title)s” is now: %(status)s. %(answer)s",
                          title=idea.title, status=STATUS_WORDS[status], answer=text),
               url, subject=_l("An answer to the idea “%(title)s”", title=idea.title),
               site_wide=True)
    db.session.commit()


def history(idea: Idea) -> tuple[list[IdeaRevision], list[IdeaAnswer], list[IdeaComment]]:
    return (list(db.session.scalars(select(IdeaRevision).where(IdeaRevision.idea_id == idea.id)
                                    .order_by(IdeaRevision.version))),
            list(db.session.scalars(select(IdeaAnswer).where(IdeaAnswer.idea_id == idea.id)
                                    .order_by(IdeaAnswer.id))),
            list(db.session.scalars(select(IdeaComment).where(IdeaComment.idea_id == idea.id)
                                    .order_by(IdeaComment.id))))


# -- co-design sessions: events of a kind (core.events) -------------------------------


def schedule(by: Member, bank_id: int, idea_ids: list[int], values: dict) -> Event:
    """A coordinator of ``bank_id`` schedules a session about one or more ideas."""
    return events.post(by, bank_id, values, EventKind.CODESIGN, idea_ids)


def sessions_about(idea: Idea) -> list[Event]:
    return events.about_idea(idea.id)


# -- co-delivery: the roles a planned idea needs ------------------------------------------

DELIVERING = (IdeaStatus.PLANNED, IdeaStatus.IN_PROGRESS)


def add_role(idea: Idea, by: Member, title: str, category_id: int, people: int) -> IdeaRole:
    if idea.status not in DELIVERING:
        raise IdeaRefused(_("Roles are for ideas that are planned or in progress."))
    role = IdeaRole(idea_id=idea.id, title=title, category_id=category_id, people=people,
                    created_by_id=by.id)
    db.session.add(role)
    db.session.flush()
    audit(by.id, "idea.role", "idea", idea.id, role=role.id)
    db.session.commit()
    return role


def roles_of(idea: Idea) -> list[tuple[IdeaRole, int]]:
    """Each role with how many have volunteered (their offers not withdrawn)."""
    counts = dict(db.session.execute(
        select(Listing.idea_role_id, func.count()).join(IdeaRole, IdeaRole.id ==
                                                         Listing.idea_role_id)
        .where(IdeaRole.idea_id == idea.id, Listing.status != ListingStatus.CLOSED)
        .group_by(Listing.idea_role_id)).all())
    return [(role, int(counts.get(role.id, 0))) for role in db.session.scalars(
        select(IdeaRole).where(IdeaRole.idea_id == idea.id).order_by(IdeaRole.id))]


def volunteered(role: IdeaRole, member: Member | None) -> bool:
    if member is None or not member.is_authenticated:
        return False
    return db.session.scalar(select(Listing.id).where(Listing.idea_role_id == role.id,
                                                      Listing.member_id == member.id)) \
        is not None


def volunteer(role: IdeaRole, by: Member, bank_id: int) -> Listing:
    """``by`` offers to play the role: an offer of help in their bank, linked to the role
    (so it is matched, exchanged and credited like any other); once each (a unique
    constraint decides between two at once), while the role needs people."""
    idea = db.session.get(Idea, role.idea_id)
    if idea.status not in DELIVERING:
        raise IdeaRefused(_("This idea is not being delivered at the moment."))
    if volunteered(role, by):
        raise IdeaRefused(_("You have already offered to do this."))
    if dict((r.id, n) for r, n in roles_of(idea)).get(role.id, 0) >= role.people:
        raise IdeaRefused(_("This role has all the people it needs. Thank you!"))
    try:
        return listings.create(by, {
            "kind": ListingKind.OFFER, "category_id": role.category_id,
            "title": f"{role.title} ({idea.title})"[:120],
            "description": _("Helping to deliver the idea “%(title)s”: %(role)s.",
                             title=idea.title, role=role.title),
            "availability": 0, "travel_km": None, "remote_ok": False,
            "expires_on": listings.default_expiry()}, by, bank_id, idea_role_id=role.id)
    except IntegrityError:
        raise IdeaRefused(_("You have already offered to do this.")) from None


def places(ideas: list[Idea]) -> list[tuple[Idea, float, float]]:
    """Where each idea is, if anywhere: its own point, else its asset's, else the middle
    of its neighbourhood."""

    assets = {a.id: a for a in db.session.scalars(
        select(Asset).where(Asset.id.in_([i.asset_id for i in ideas if i.asset_id])))}
    areas = {n.id: n for n in db.session.scalars(select(Neighbourhood).where(
        Neighbourhood.id.in_([i.neighbourhood_id for i in ideas if i.neighbourhood_id])))}
    found = []
    for idea in ideas:
        asset, area = assets.get(idea.asset_id), areas.get(idea.neighbourhood_id)
        if idea.latitude is not None and idea.longitude is not None:
            found.append((idea, idea.latitude, idea.longitude))
        elif asset is not None and (point := asset.public_point) is not None:
            found.append((idea, *point))
        elif area is not None:
            found.append((idea, (area.min_lat + area.max_lat) / 2,
                          (area.min_lon + area.max_lon) / 2))
    return found


def kinds_and_areas() -> tuple[list[AssetCategory], list[Neighbourhood]]:
    """What an idea can be about: the kinds of asset in use, and the named areas."""
    return (list(db.session.scalars(select(AssetCategory).where(AssetCategory.active)
                                    .order_by(AssetCategory.position))),
            list(db.session.scalars(select(Neighbourhood).order_by(Neighbourhood.name))))
