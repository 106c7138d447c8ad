"""Who did what to which object, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model, db


class AuditEvent(Model):
    __tablename__ = "audit_event"
    # What was done to a member (their data download's "about you" and activity log, the
    # erasure's look-ups): without it each read the whole trail of every member.
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def record(actor_id: int | None, action: str, obj_type: str, obj_id: int | None, **detail):
    """Add an audit row to the current session (committed with the caller's change)."""
    event = AuditEvent(
        actor_id=actor_id, action=action, object_type=obj_type, object_id=obj_id, detail=detail
    )
    db.session.add(event)
    return event
