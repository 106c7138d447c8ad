"""Models, one module per aggregate. Import them here so Alembic sees every table."""

from timebank.core.models.approvals import Approval, ApprovalKind, ApprovalStatus
from timebank.core.models.assets import (
    Asset,
    AssetCategory,
    AssetChange,
    AssetImport,
    AssetReview,
    AssetStatus,
    BoundaryUpload,
    GeocodeState,
    Neighbourhood,
)
from timebank.core.models.audit import AuditEvent
from timebank.core.models.banks import Bank, BankRole, CouncilArea, Membership
from timebank.core.models.checks import CategoryCheck, CheckKind, MemberCheck
from timebank.core.models.events import Event, EventIdea, EventKind, EventSignup
from timebank.core.models.ideas import (
    Idea,
    IdeaAnswer,
    IdeaComment,
    IdeaRating,
    IdeaRevision,
    IdeaRole,
    IdeaStatus,
    IdeaSupport,
)
from timebank.core.models.ledger import (
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
from timebank.core.models.listings import (
    Listing,
    ListingKind,
    ListingStatus,
    Match,
    MatchMessage,
    MatchStatus,
)
from timebank.core.models.members import Member, MemberStatus, ResetRequest, Role
from timebank.core.models.notifications import EmailPreference, Notification, OutboxMessage
from timebank.core.models.quiet import ContactKind, QuietContact
from timebank.core.models.skills import Category
from timebank.core.models.texts import (
    CodePurpose,
    Proxy,
    StrangerTexts,
    TextCode,
    TextMessage,
    TextStatus,
)
from timebank.infra import cache
from timebank.infra.tables import DataVersion, GeocodeCache, JobRun  # (infrastructure's tables)

__all__ = [
    "CodePurpose",
    "Proxy",
    "StrangerTexts",
    "TextCode",
    "TextMessage",
    "TextStatus",
    "Account",
    "AccountKind",
    "AccountMonth",
    "Approval",
    "ApprovalKind",
    "ApprovalStatus",
    "Asset",
    "AssetCategory",
    "AssetChange",
    "AssetImport",
    "AssetReview",
    "AssetStatus",
    "BoundaryUpload",
    "AuditEvent",
    "Bank",
    "BankRole",
    "CouncilArea",
    "Membership",
    "Category",
    "CategoryCheck",
    "ContactKind",
    "QuietContact",
    "CheckKind",
    "Event",
    "EventIdea",
    "EventKind",
    "EventSignup",
    "MemberCheck",
    "Entry",
    "EmailPreference",
    "Exchange",
    "DataVersion",
    "GeocodeCache",
    "JobRun",
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
]

# What each cached thing is built from (``infra.cache``): a change to these moves its
# version. A member counts only in what matching reads (a digest sent, a session ended or
# a password changed is not news to it); an account only in its totals (a balance moves
# with every exchange, pending ones included), and per bank.
cache.watch(Asset, cache.REGISTER)
cache.watch(AssetCategory, cache.REGISTER)
cache.watch(Neighbourhood, cache.REGISTER)
cache.watch(Member, cache.CANDIDATES, ("display_name", "skills", "public_latitude",
                                       "public_longitude", "status", "matching_opt_out"))
cache.watch(Membership, cache.CANDIDATES)
cache.watch(Category, cache.KINDS)
cache.watch(Listing, cache.CANDIDATES)
cache.watch_moves(Account, ("given", "received"))
