"""The audit trail, searched: who did what to which object, and when."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from timebank.core.models import AuditEvent, Member
from timebank.infra.db import keyset_page, like_pattern
from timebank.infra.extensions import db

PAGE = 50
CSV_HEADER = ("id", "when (UTC)", "who", "who_id", "action", "object", "object_id", "detail")


def _query(who: str = "", action: str = "", object_type: str = "",
           object_id: int | None = None, since: date | None = None,
           until: date | None = None):
    actor = aliased(Member)
    query = select(AuditEvent, actor).outerjoin(actor, actor.id == AuditEvent.actor_id)
    if who:
        if who.isascii() and who.isdigit() and len(who) < 10:
            query = query.where(AuditEvent.actor_id == int(who))
        else:
            pattern = like_pattern(who)
            query = query.where(or_(actor.display_name.ilike(pattern, escape="\\"),
                                    actor.email.ilike(pattern, escape="\\")))
    if action:
        query = query.where(AuditEvent.action.ilike(like_pattern(action), escape="\\"))
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if since:
        query = query.where(AuditEvent.created_at >= datetime.combine(since, time.min))
    if until:
        query = query.where(AuditEvent.created_at < datetime.combine(until + timedelta(days=1),
                                                                      time.min))
    return query


def page(filters: dict, before: int | None) -> tuple[list, int | None]:
    """One page of events, newest first, and the id to continue before (None: the end)."""
    query = _query(**filters)
    if before:
        query = query.where(AuditEvent.id < before)
    return keyset_page(db.session.execute(query.order_by(AuditEvent.id.desc()).limit(PAGE + 1)),
                       PAGE, lambda row: row[0].id)


def csv_rows(filters: dict) -> Iterator[tuple]:
    query = _query(**filters).order_by(AuditEvent.id.desc()).execution_options(yield_per=1000)
    for event, actor in db.session.execute(query):
        yield (event.id, event.created_at.isoformat(timespec="seconds"),
               actor.display_name if actor else "", event.actor_id or "", event.action,
               event.object_type, event.object_id or "", _detail(event.detail))


def object_types() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.object_type).distinct()
                                   .order_by(AuditEvent.object_type)))


def _detail(detail: dict | None) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted((detail or {}).items()))
