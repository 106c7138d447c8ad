"""Models, one module per aggregate. Import them here so Alembic sees every table."""

from .audit import AuditEvent
from .ledger import Account, AccountKind, Entry, Exchange, ExchangeStatus, Outcome
from .members import Member, MemberStatus, Role
from .skills import Category

__all__ = [
    "Account",
    "AccountKind",
    "AuditEvent",
    "Category",
    "Entry",
    "Exchange",
    "ExchangeStatus",
    "Member",
    "MemberStatus",
    "Outcome",
    "Role",
]
