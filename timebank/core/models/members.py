"""Members: who they are, their role and where they are in the approval process."""

from __future__ import annotations

import functools
from datetime import datetime
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    func,
    select,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core.models.banks import Bank, Membership
from timebank.core.models.base import utcnow
from timebank.infra import passwords
from timebank.infra.extensions import Model, db


class Role(StrEnum):
    RESIDENT = "resident"
    HELPER = "helper"  # a resident who welcomes newcomers and buddies the offline
    COORDINATOR = "coordinator"
    COUNCIL = "council"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self.value])  # only this one translated (one per table row)


ROLE_LABELS = {"resident": _l("Resident"), "helper": _l("Helper"),
               "coordinator": _l("Coordinator"), "council": _l("Council viewer"),
               "admin": _l("Admin")}


class MemberStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DECLINED = "declined"  # an application a coordinator said no to


# Which roles may do what. Admins can do everything coordinators can.
STAFF_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN})
TRADING_ROLES = frozenset({Role.RESIDENT, Role.HELPER, Role.COORDINATOR, Role.ADMIN})
VIEWER_ROLES = frozenset({Role.COUNCIL, Role.COORDINATOR, Role.ADMIN})


class Member(Model):
    __tablename__ = "member"
    # Lists of members read in name order a page at a time (keyset paging).
    __table_args__ = (Index("ix_member_display_name_id", "display_name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a member a coordinator enrolled without e-mail (no log-in until one is set).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    # The install role: admin or council viewer; "resident" means none. Resident and
    # coordinator are roles within a bank (Membership); ``role_in`` combines them.
    install_role: Mapped[str] = mapped_column("role", String(20), default=Role.RESIDENT)
    status: Mapped[str] = mapped_column(String(20), default=MemberStatus.PENDING, index=True)
    neighbourhood: Mapped[str] = mapped_column(String(80), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[str] = mapped_column(Text, default="")
    availability: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Where the member lives, for distances only. The exact point never leaves the
    # server; the public point is snapped to a ~500 m grid (see geo.public_point).
    address: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    public_latitude: Mapped[float | None] = mapped_column(Float)
    public_longitude: Mapped[float | None] = mapped_column(Float)
    email_preference: Mapped[str] = mapped_column(String(12), default="immediately")
    matching_opt_out: Mapped[bool] = mapped_column(default=False)
    # May members of other banks find this member to exchange time with them?
    findable_elsewhere: Mapped[bool] = mapped_column(default=False)
    # The language the member reads the site and e-mails in (None: browser or bank's).
    language: Mapped[str | None] = mapped_column(String(10))
    # Sessions carry the version they began with; moving it on ends them all (log-out,
    # suspension, a new role), wherever the signed cookie has been kept.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Registration waits for the owner of the address to confirm it before a
    # coordinator sees the application.
    email_verified_at: Mapped[datetime | None]
    # An address change waiting for its confirmation link; a newer request replaces it,
    # and using the link clears it, so every other link for a change dies.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    # Consent: may the people this member is introduced to see their phone and e-mail?
    share_contact: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # …and to every member of their bank, in the member directory (a separate choice).
    directory_contact: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Data rights: asked for erasure; erased (personal details replaced, ledger kept).
    # A verified mobile in E.164: texts reach it and texts from it are this member's.
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)
    mobile_verified_at: Mapped[datetime | None]
    # A coordinator who set it for a member they enrolled (four eyes: ``sms.phones``).
    mobile_set_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # What reaches the mobile: "confirm" (time recorded with them and requests to
    # confirm), "weekly" (those and a weekly text of what is new nearby), "never".
    text_preference: Mapped[str] = mapped_column(String(12), default="confirm",
                                                 server_default="confirm")
    # STOP: nothing is texted until START (UK rules for texts people did not ask for).
    texts_stopped_at: Mapped[datetime | None]
    texts_weekly_at: Mapped[datetime | None]  # the last weekly "new near you" text
    erasure_requested_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    last_digest_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))

    @staticmethod
    def normalise_email(email: str) -> str:
        return email.strip().casefold()

    def set_password(self, password: str) -> None:
        self.password_hash = passwords.make(password)

    def check_password(self, password: str) -> bool:
        return passwords.matches(self.password_hash, password)

    # -- roles: the install's, and the one in a given bank -----------------------------

    def membership_in(self, bank_id: int | None):
        """This member's Membership of ``bank_id`` (loaded once per object), or None."""
        return self._membership_cache().get(bank_id)

    def all_memberships(self) -> list:
        """Every Membership of this member, in any bank (loaded once per object)."""
        return list(self._membership_cache().values())

    def _membership_cache(self) -> dict:
        cache = self.__dict__.get("_memberships")
        if cache is None:
            cache = {m.bank_id: m for m in db.session.scalars(
                _memberships_of(), {"member": self.id})}
            self.__dict__["_memberships"] = cache
        return cache

    def forget_memberships(self) -> None:
        self.__dict__.pop("_memberships", None)

    @classmethod
    def for_a_page(cls, member_id: int) -> tuple[Member | None, int]:
        """The member with their memberships (kept as ``_membership_cache`` keeps them),
        and the number of banks in the install, in one statement: every logged-in page
        needs all three, and on PostgreSQL each statement is a round trip of its own."""
        rows = db.session.execute(_for_a_page(), {"member": member_id}).all()
        if not rows:
            return None, 0
        member = rows[0][0]
        member.__dict__["_memberships"] = {m.bank_id: m for _, m, _ in rows if m is not None}
        return member, rows[0][2]

    def role_in(self, bank_id: int | None) -> str | None:
        """Admin and council viewer hold everywhere; otherwise the active role in that bank."""
        if self.install_role in (Role.ADMIN, Role.COUNCIL):
            return self.install_role
        membership = self.membership_in(bank_id)
        if membership is None or membership.status != MemberStatus.ACTIVE:
            return None
        return membership.role

    def status_in(self, bank_id: int | None) -> str:
        """Pending, active or suspended in the bank (the log-in's own for install roles)."""
        membership = self.membership_in(bank_id)
        return membership.status if membership is not None else self.status

    def is_staff_in(self, bank_id: int | None) -> bool:
        return self.role_in(bank_id) in STAFF_ROLES

    def staff_somewhere(self) -> bool:
        """An admin, or a coordinator of some bank (assets and imports are install-wide)."""
        return self.install_role == Role.ADMIN or any(
            m.role == Role.COORDINATOR and m.status == MemberStatus.ACTIVE
            for m in self.all_memberships())

    def role_label_in(self, bank_id: int | None) -> str:
        role = self.role_in(bank_id)
        if role:
            return Role(role).label
        return _("Not a member of this bank")

    # Install roles hold in every bank: no bank needs naming.
    @property
    def is_admin(self) -> bool:
        return self.install_role == Role.ADMIN

    @property
    def is_council(self) -> bool:
        return self.install_role == Role.COUNCIL

    # What Flask-Login asks of a user (its UserMixin is a web concern, kept out of models).
    # It refuses to log in a member whose is_active is false.
    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.email}>"


@functools.cache
def _for_a_page():
    """``Member.for_a_page``'s statement (``member`` bound), built once."""
    banks = select(func.count(Bank.id)).scalar_subquery()
    return (select(Member, Membership, banks)
            .outerjoin(Membership, Membership.member_id == Member.id)
            .where(Member.id == bindparam("member")).order_by(Membership.id))


@functools.cache
def _memberships_of():
    """A member's memberships (``member`` bound): built once, as every page asks."""
    return select(Membership).where(Membership.member_id == bindparam("member"))


class ResetRequest(Model):
    """A "forgotten password" asked for an address, answered by the mail job: the page does
    the same work whether or not anyone has the address (one row written), so its timing
    tells a stranger nothing about who is a member."""

    __tablename__ = "reset_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
