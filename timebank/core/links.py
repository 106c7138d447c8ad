"""Links the domain writes into notifications and e-mails: always to a given bank."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select

from timebank.core.models import Bank
from timebank.infra.extensions import db


def several_banks() -> bool:
    return (db.session.scalar(select(func.count(Bank.id))) or 0) > 1


def bank_url(endpoint: str, bank_id: int, **values) -> str:
    """``url_for`` in the bank ``bank_id``: with its ``/b/<slug>/`` prefix while the
    install has several banks, so the link opens in that bank whichever the reader last
    visited (an install with one bank keeps its plain addresses)."""
    if several_banks():
        values["bank"] = db.session.get(Bank, bank_id).slug
    if has_request_context():
        return url_for(endpoint, **values)
    with site_context():  # a command or a job: links on TIMEBANK_BASE_URL
        return url_for(endpoint, **values)


def site_context():
    """A request context on TIMEBANK_BASE_URL, so commands can build links with url_for."""
    return current_app.test_request_context(base_url=current_app.config["TIMEBANK_BASE_URL"])
