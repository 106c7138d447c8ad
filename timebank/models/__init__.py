"""Models, one module per aggregate. Import them here so Alembic sees every table."""

from .approvals import Approval, ApprovalKind, ApprovalStatus
from .assets import (
    Asset,
    AssetCategory,
    AssetImport,
    AssetReview,
    AssetStatus,
    GeocodeState,
    Neighbourhood,
)
from .audit import AuditEvent
from .banks import Bank, BankRole, CouncilArea, Membership
from .geo import DataVersion, GeocodeCache
from .ideas import (
    CoDesignSession,
    Idea,
    IdeaAnswer,
    IdeaComment,
    IdeaRating,
    IdeaRevision,
    IdeaRole,
    IdeaStatus,
    IdeaSupport,
    SessionIdea,
    SessionSignup,
)
from .ledger import (
    Account,
    AccountKind,
    AccountMonth,
    Entry,
    Exchange,
    ExchangeStatus,
    MonthPerson,
    MonthTotal,
    Outcome,
    OutcomeMonth,
)
from .listings import Listing, ListingKind, ListingStatus, Match, MatchMessage, MatchStatus
from .members import Member, MemberStatus, ResetRequest, Role
from .notifications import EmailPreference, Notification, OutboxMessage
from .skills import Category

__all__ = [
    "Account",
    "AccountKind",
    "AccountMonth",
    "Approval",
    "ApprovalKind",
    "ApprovalStatus",
    "Asset",
    "AssetCategory",
    "AssetImport",
    "AssetReview",
    "AssetStatus",
    "AuditEvent",
    "Bank",
    "BankRole",
    "CouncilArea",
    "Membership",
    "Category",
    "CoDesignSession",
    "Entry",
    "EmailPreference",
    "Exchange",
    "DataVersion",
    "GeocodeCache",
    "GeocodeState",
    "Idea",
    "IdeaAnswer",
    "IdeaComment",
    "IdeaRating",
    "IdeaRevision",
    "IdeaRole",
    "IdeaStatus",
    "IdeaSupport",
    "Listing",
    "ListingKind",
    "ListingStatus",
    "Match",
    "MatchMessage",
    "MatchStatus",
    "Notification",
    "OutboxMessage",
    "ExchangeStatus",
    "Member",
    "MemberStatus",
    "Neighbourhood",
    "MonthPerson",
    "MonthTotal",
    "Outcome",
    "OutcomeMonth",
    "ResetRequest",
    "Role",
    "SessionIdea",
    "SessionSignup",
]
