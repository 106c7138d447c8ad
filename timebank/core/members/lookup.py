"""Finding members: the one a form means ('Name (#12)', an e-mail for staff, a unique
name), the pickers' suggestions, and the bank's member directory."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, false, func, or_, select
from sqlalchemy.orm import aliased

from timebank.core.errors import Refused
from timebank.core.listings import open_listings_query
from timebank.core.models import (
    Account,
    Bank,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    Membership,
    MemberStatus,
    Role,
)
from timebank.core.models.members import TRADING_ROLES
from timebank.infra import cache, clock
from timebank.infra.db import MAX_ID, keyset_page, like_pattern
from timebank.infra.extensions import db

_ID_SUFFIX = re.compile(r"#(\d{1,12})\s*\)?\s*$")


class MemberNotFound(Refused):
    """The text names no member the form may use; the message says what to do.

    ``candidates``: when several members share the name, the ones to choose from (the
    form offers them, so nobody is stuck without JavaScript)."""

    def __init__(self, message: str, candidates: list[Member] | None = None):
        super().__init__(message)
        self.candidates = candidates or []


def refuse(field, error: MemberNotFound) -> None:
    """Put a lookup's refusal beside its form field, with the members to choose from."""
    field.errors.append(error.message)
    field.candidates = error.candidates


def member_label(member: Member) -> str:
    """How a member appears in pickers: a name plus their number, never their email."""
    return f"{member.display_name} (#{member.id})"


def trading_bank(member: Member, bank_id: int, other_banks: bool = False) -> int | None:
    """The bank whose account ``member`` trades from with someone in ``bank_id``, or None.

    Their own membership of ``bank_id`` first; with ``other_banks``, a bank that takes
    exchanges between banks where they are active and chose to be found.
    """
    if member.status != MemberStatus.ACTIVE:
        return None
    if member.role_in(bank_id) in TRADING_ROLES:
        return bank_id
    if member.membership_in(bank_id) is not None:
        return None  # pending or suspended here: not through another bank either
    if not (other_banks and member.findable_elsewhere):
        return None
    here = db.session.get(Bank, bank_id)
    if here is None or not here.interbank:
        return None
    return db.session.scalar(
        select(Membership.bank_id).join(Bank, Bank.id == Membership.bank_id)
        .where(Membership.member_id == member.id, Membership.status == MemberStatus.ACTIVE,
               Bank.interbank).order_by(Membership.bank_id).limit(1))


def resolve_member(text: str, bank_id: int, *, other_banks: bool = False,
                   by_email: bool = True) -> tuple[Member, int]:
    """The active trading member meant by ``text``, and the bank they trade from.

    Only staff pass ``by_email``: a resident typing an address learns nothing from it.
    """
    text = (text or "").strip()
    match = _ID_SUFFIX.search(text)
    member = None
    if match:
        number = int(match.group(1))
        member = db.session.get(Member, number) if number <= MAX_ID else None
    elif "@" in text and by_email:
        member = db.session.scalar(select(Member).where(Member.email == text.casefold()))
    else:
        # Only names this bank's forms may use: its members, and those found elsewhere.
        in_reach = or_(
            Member.id.in_(select(Membership.member_id).where(Membership.bank_id == bank_id)),
            Member.findable_elsewhere.is_(True) if other_banks else false())
        found = [m for m in db.session.scalars(
            select(Member).where(func.lower(Member.display_name) == text.lower(), in_reach)
            .order_by(Member.neighbourhood, Member.id).limit(20)
        ) if trading_bank(m, bank_id, other_banks) is not None]
        if len(found) > 1:
            raise MemberNotFound(_("More than one member is called “%(text)s”: choose which "
                                   "one.", text=text), candidates=found)
        if not found and len(text) >= 2:
            # Without JavaScript there are no suggestions: a first name, or the start of a
            # name, offers the members it could mean to choose from (never picks one).
            starts = like_pattern(text.lower(), prefix_only=True)
            word = like_pattern(" " + text.lower(), prefix_only=False)
            near = [m for m in db.session.scalars(
                select(Member).where(or_(func.lower(Member.display_name).like(starts,
                                                                             escape="\\"),
                                         func.lower(Member.display_name).like(word,
                                                                             escape="\\")),
                                     in_reach)
                .where(Member.status == MemberStatus.ACTIVE)
                .order_by(Member.display_name, Member.id).limit(60)
            ) if trading_bank(m, bank_id, other_banks) is not None][:20]
            if near:
                raise MemberNotFound(_("Several members could be “%(text)s”: choose which one.",
                                       text=text) if len(near) > 1 else
                                     _("Did you mean this member? Choose them to go on.",
                                       text=text), candidates=near)
        member = found[0] if found else None
    # One message for "no such member" and "not someone you can trade with", so the
    # form reveals nothing about pending, suspended or council accounts.
    home = trading_bank(member, bank_id, other_banks) if member is not None else None
    if home is None:
        raise MemberNotFound(_("No member matches “%(text)s”. Check the spelling, or use "
                               "their member number (it is on their statement), like #123.",
                               text=text[:80]))
    return member, home


def search(q: str, bank_id: int, exclude: int, by_email: bool, limit: int = 10) -> list:
    """Members whose name (or, for staff, e-mail) starts with ``q``, for the pickers:
    active traders of the bank, then members of other banks who chose to be found.

    Returns (member, bank or None when it is this one) pairs.
    """
    like = like_pattern(q, prefix_only=True)
    by_name = or_(Member.display_name.ilike(like, escape="\\"),
                  Member.display_name.ilike("% " + like, escape="\\"))
    # Staff may find their own bank's members by e-mail; nobody spells out another's.
    matches = or_(by_name, Member.email.ilike(like, escape="\\") if by_email else false())
    here = list(db.session.scalars(
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.bank_id == bank_id, Membership.status == MemberStatus.ACTIVE,
               Member.status == MemberStatus.ACTIVE, Member.id != exclude, matches)
        .order_by(Member.display_name).limit(limit)))
    found: list[tuple[Member, Bank | None]] = [(m, None) for m in here]
    bank = db.session.get(Bank, bank_id)
    if len(found) < limit and bank is not None and bank.interbank:
        elsewhere = db.session.execute(
            select(Member, Bank)
            .join(Membership, Membership.member_id == Member.id)
            .join(Bank, Bank.id == Membership.bank_id)
            .where(Membership.bank_id != bank_id, Membership.status == MemberStatus.ACTIVE,
                   Member.status == MemberStatus.ACTIVE, Member.findable_elsewhere,
                   Bank.interbank, Member.id != exclude, Member.id.not_in([m.id for m in here]),
                   by_name)
            .order_by(Member.display_name).limit(limit - len(found))).all()
        found += [(m, b) for m, b in elsewhere]
    return found


def sheet_for(viewer: Member, member_id: int | None, bank_id: int) -> Member | None:
    """Whose printed sheets ``viewer`` may print: as ``member_for``, and for a helper of
    the bank, a member enrolled without e-mail (whom they buddy)."""
    member = member_for(viewer, member_id, bank_id)
    if member is not None or viewer.role_in(bank_id) != Role.HELPER:
        return member
    found = db.session.get(Member, member_id)
    membership = found.membership_in(bank_id) if found is not None else None
    if found is None or found.email is not None or membership is None \
            or membership.status != MemberStatus.ACTIVE:
        return None
    return found


def member_for(viewer: Member, member_id: int | None, bank_id: int) -> Member | None:
    """Whose page ``viewer`` may open: their own, or (for staff) a member of the bank.

    None for anyone else, so a page answers 404 exactly as for nobody at all.
    """
    if member_id is None or member_id == viewer.id:
        return viewer
    if not viewer.is_staff_in(bank_id):
        return None
    member = db.session.get(Member, member_id)
    if member is None or member.membership_in(bank_id) is None:
        return None
    return member


@dataclass
class DirectoryCard:
    member: Member
    offers: list[Listing]

    @property
    def kinds(self) -> list[str]:
        return sorted({o.category.name for o in self.offers})


@dataclass
class DirectoryPage:
    cards: list[DirectoryCard]
    next_after: int | None  # the member to continue after (None: the last page)


DIRECTORY_PAGE = 25  # cards, like the members list's rows


def directory(bank_id: int, name: str = "", category_id: int | None = None,
              neighbourhood: str = "", after: int | None = None,
              size: int = DIRECTORY_PAGE) -> DirectoryPage:
    """The bank's active members, with the offers they have open, filtered by name, by a
    kind of help they offer and by neighbourhood; in name order, a page at a time
    (keyset paging after the member ``after``, LookupError if this page could not show
    them: a page deep in the list costs what the first does).

    What it carries is what members show everyone anyway (name, neighbourhood, skills,
    offers); templates add phone and e-mail only for those who chose to share them.
    """
    params = {"bank": bank_id, "size": size + 1, "category": category_id,
              "name": like_pattern(name, prefix_only=True),
              "later_name": "% " + like_pattern(name, prefix_only=True),
              "neighbourhood": like_pattern(neighbourhood), "today": clock.today()}
    statements = _directory_statements()
    if after is not None:
        # Only a member this page could show: where anyone else's name sorts is not the
        # reader's business.
        last = db.session.scalar(statements["last"], {**params, "after_id": after})
        if last is None:
            raise LookupError(after)
        params.update(after_id=after, after_name=last)
    members, next_after = keyset_page(db.session.scalars(
        statements[(bool(name), bool(neighbourhood), bool(category_id), after is not None)],
        params), size)
    offers: dict[int, list[Listing]] = {m.id: [] for m in members}
    for listing in db.session.scalars(statements["offers"], {**params, "ids": list(offers)}):
        offers[listing.member_id].append(listing)
    return DirectoryPage([DirectoryCard(m, offers[m.id]) for m in members], next_after)


def _by_name(query, after: bool):
    """``query`` a page (``size`` bound) at a time in name order, after the member
    ``after_id`` named ``after_name`` (both bound) when ``after``: keyset paging."""
    if after:
        query = query.where(or_(Member.display_name > bindparam("after_name"),
                                and_(Member.display_name == bindparam("after_name"),
                                     Member.id > bindparam("after_id"))))
    return query.order_by(Member.display_name, Member.id).limit(bindparam("size"))


@functools.cache
def _directory_statements() -> dict:
    """The directory's statements, one per shape of question, built once with bound
    values (building them took longer than the database took to answer)."""
    bank: Any = bindparam("bank")
    # "Is an active member here" as EXISTS, so the database walks the (display_name, id)
    # index and stops after a page, instead of sorting every member of the bank.
    here = select(Membership.id).where(Membership.member_id == Member.id,
                                       Membership.bank_id == bank,
                                       Membership.status == MemberStatus.ACTIVE).exists()
    # coalesce(): nearly every member is active, and SQLite would otherwise read them all
    # through the status index and sort them.
    shown = (here, func.coalesce(Member.status, "") == MemberStatus.ACTIVE,
             Member.erased_at.is_(None))
    found: dict = {"last": select(Member.display_name).where(
        Member.id == bindparam("after_id"), here, Member.status == MemberStatus.ACTIVE,
        Member.erased_at.is_(None))}
    for name, neighbourhood, category, after in itertools.product((False, True), repeat=4):
        query = select(Member).where(*shown)
        if name:
            query = query.where(or_(Member.display_name.ilike(bindparam("name"), escape="\\"),
                                    Member.display_name.ilike(bindparam("later_name"),
                                                              escape="\\")))
        if neighbourhood:
            query = query.where(Member.neighbourhood.ilike(bindparam("neighbourhood"),
                                                           escape="\\"))
        if category:
            query = query.where(Member.id.in_(
                open_listings_query(bank, bindparam("today"))
                .where(Listing.kind == ListingKind.OFFER,
                       Listing.category_id == bindparam("category"))
                .with_only_columns(Listing.member_id)))
        found[(name, neighbourhood, category, after)] = _by_name(query, after)
    # Open offers of the page's members, found through the member index: the other
    # conditions in coalesce(), or SQLite reads all the bank's listings through the
    # bank (or kind) index instead (1.2 ms on the city, 0.03 this way).
    found["offers"] = select(Listing).where(
        Listing.member_id.in_(bindparam("ids", expanding=True)),
        func.coalesce(Listing.bank_id, 0) == bank,
        func.coalesce(Listing.status, "") == ListingStatus.OPEN,
        func.coalesce(Listing.kind, "") == ListingKind.OFFER,
        Listing.expires_on >= bindparam("today")).order_by(Listing.id)
    return found


# -- the coordinator's members list ------------------------------------------------------

PAGE_SIZE = 25  # a phone shows each row as a card: 25 is already a long scroll
# The oldest applications, above the list: a coordinator answers a few at a time, and
# the page links to every one ("status=pending") when more wait.
APPLICATIONS_SHOWN = 10


@dataclass(frozen=True)
class MemberRow:
    """A member as the members list shows them: plain values read with the page, not a
    member with their memberships and account as objects (a page of 25 in one query)."""

    id: int
    display_name: str
    neighbourhood: str
    install_role: str
    membership_role: str
    bank_status: str  # in this bank
    staff_anywhere: bool  # (see ``service.may_change_status``)
    balance: int | None  # None: no account in this bank

    @property
    def role(self) -> str | None:
        """The role in this bank, as ``Member.role_in`` says it."""
        if self.install_role in (Role.ADMIN, Role.COUNCIL):
            return self.install_role
        return self.membership_role if self.bank_status == MemberStatus.ACTIVE else None

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else _("Not a member of this bank")


@dataclass
class MembersPage:
    applications: list[MemberRow]  # on the first page of "everyone" only
    rows: list[MemberRow]  # in name order
    next_after: int | None  # the member to continue after (None: the last page)
    counts: dict  # members by status in the bank


def members_page(bank_id: int, status: str = "", quiet_ids=None, q: str = "",
                 after: int | None = None, size: int = PAGE_SIZE) -> MembersPage:
    """One page of the bank's members in name order (keyset paging: a page deep in the
    list costs what the first does), filtered by status, a name or member number, and
    the quiet; confirmed applications first, apart, when nothing is filtered.
    LookupError when ``after`` is not a member of this bank."""
    # Counted from the membership index alone; only the (few) applications need the
    # member row, to leave out unconfirmed addresses.
    # Kept per version of the memberships (any change to one moves it).
    counts = dict(cache.built(cache.CANDIDATES, ("membership counts", bank_id), lambda _v: dict(
        db.session.execute(select(Membership.status, func.count())
                           .where(Membership.bank_id == bank_id)
                           .group_by(Membership.status)).all())))
    counts[MemberStatus.PENDING] = db.session.scalar(_members_statements()["pending"],
                                                     {"bank": bank_id})
    q = q.strip()
    digits = q.lstrip("#")
    number = int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 12 else None
    if number is not None and number > MAX_ID:  # (no such member; PostgreSQL: no such integer)
        number = None
    params = {"bank": bank_id, "status": status, "pattern": like_pattern(q.lower()),
              "number": number, "size": size + 1}
    applications: Sequence[Any] = []
    if status:
        which = "status"
    elif not q and quiet_ids is None:
        which = "settled"
        if after is None:
            applications = db.session.execute(
                _members_statements()["applications"],
                {**params, "size": min(size, APPLICATIONS_SHOWN)}).all()
    else:
        which = "any"
    last = None
    if after is not None:
        # Only a member of this bank: where another bank's member's name sorts is not
        # this coordinator's to learn (a cursor is a question about a name).
        last = db.session.scalar(
            select(Member.display_name).join(Membership, Membership.member_id == Member.id)
            .where(Member.id == after, Membership.bank_id == bank_id))
        if last is None:
            raise LookupError(after)
        params.update(after_name=last, after_id=after)
    query = _members_statements()[(which, bool(q), number is not None, last is not None)]
    if quiet_ids is not None:  # (the work queue's 90 quiet days, with their own moment)
        query = query.where(Member.id.in_(quiet_ids))
    rows, next_after = keyset_page(db.session.execute(query, params), size, lambda row: row[0])
    return MembersPage([MemberRow(*row) for row in applications],
                       [MemberRow(*row) for row in rows], next_after, counts)


@functools.cache
def _members_statements() -> dict:
    """The members list's statements, one per shape of question, built once with bound
    values (building them took longer than the database took to answer)."""

    bank: Any = bindparam("bank")
    # An application shows once its address is confirmed (a typo'd address never does).
    confirmed = or_(Membership.status != MemberStatus.PENDING,
                    Member.email_verified_at.is_not(None), Member.email.is_(None))
    found: dict[Any, Any] = {"pending": select(func.count()).select_from(Membership)
             .join(Member, Member.id == Membership.member_id)
             .where(Membership.bank_id == bank, Membership.status == MemberStatus.PENDING,
                    confirmed)}
    # What a row shows of the membership is looked up for the page's rows only.
    # (Aliases: the applications join the membership itself, which must not stand in
    # for these.)
    this, anywhere = aliased(Membership), aliased(Membership)
    in_this = (this.member_id == Member.id) & (this.bank_id == bank)
    columns = (select(Member.id, Member.display_name, Member.neighbourhood, Member.install_role,
                      select(this.role).where(in_this).scalar_subquery(),
                      select(this.status).where(in_this).scalar_subquery(),
                      # A count, not EXISTS: PostgreSQL read every membership of the
                      # install into a hash for EXISTS (1.2 ms), not the page's 25.
                      or_(Member.install_role.in_((Role.ADMIN, Role.COUNCIL)),
                          select(func.count(anywhere.id))
                          .where(anywhere.member_id == Member.id,
                                 anywhere.role == Role.COORDINATOR).scalar_subquery() > 0),
                      Account.balance)
               .outerjoin(Account, (Account.member_id == Member.id) & (Account.bank_id == bank)))
    found["applications"] = (
        columns.join(Membership, (Membership.member_id == Member.id)
                     & (Membership.bank_id == bank))
        .where(confirmed, Membership.status == MemberStatus.PENDING)
        .order_by(Membership.created_at, Member.id).limit(bindparam("size")))
    here = select(Membership.id).where(Membership.member_id == Member.id,
                                       Membership.bank_id == bank, confirmed)
    for which, exists in (("status", here.where(Membership.status == bindparam("status"))),
                          ("settled", here.where(Membership.status != MemberStatus.PENDING)),
                          ("any", here)):
        for words, number, after in itertools.product((False, True), repeat=3):
            query = columns
            if words:
                name = func.lower(Member.display_name).like(bindparam("pattern"), escape="\\")
                query = query.where(or_(name, Member.id == bindparam("number")) if number
                                    else name)
            # "Is a member here" as EXISTS, so the database walks the (display_name, id)
            # index and stops after a page, instead of sorting every member of the bank.
            query = query.where(exists.exists())
            found[(which, words, number, after)] = _by_name(query, after)
    return found


def applications(bank_id: int):
    """Pending applications whose address is confirmed (or who were enrolled without one)."""
    return (select(Member).join(Membership, Membership.member_id == Member.id)
            .where(Membership.bank_id == bank_id, Membership.status == MemberStatus.PENDING,
                   or_(Member.email_verified_at.is_not(None), Member.email.is_(None))))
