"""Links the domain writes (notifications, e-mails, the work queue): a bank's pages always
in the bank named, never in whichever one a request happens to show. The one place in
the domain that builds addresses."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select

from timebank.core.models import Bank
from timebank.infra.db import memo
from timebank.infra.extensions import db


def several_banks() -> bool:
    memo_ = memo()
    if "several banks" not in memo_:  # (a work queue builds eight links)
        memo_["several banks"] = (db.session.scalar(select(func.count(Bank.id))) or 0) > 1
    return memo_["several banks"]


def _in_a_bank(endpoint: str) -> bool:
    """Whether ``endpoint`` also answers under ``/b/<bank>/`` (a bank's page, not the
    install's: the asset map, ideas and log-in have no bank in their address)."""
    return any("bank" in rule.arguments for rule in current_app.url_map.iter_rules(endpoint))


def site_url(endpoint: str, **values) -> str:
    """``url_for`` for a page of the whole install (an idea, the log-in, an e-mailed link):
    no bank in its address."""
    if has_request_context():
        return url_for(endpoint, **values)
    with site_context():
        return url_for(endpoint, **values)


def bank_url(endpoint: str, bank_id: int, **values) -> str:
    """``url_for`` in the bank ``bank_id``: with its ``/b/<slug>/`` prefix while the
    install has several banks, so the link opens in that bank whichever the reader last
    visited (an install with one bank keeps its plain addresses)."""
    if several_banks() and _in_a_bank(endpoint):
        values["bank"] = db.session.get(Bank, bank_id).slug
    return site_url(endpoint, **values)  # (a command or a job: on TIMEBANK_BASE_URL)


def site_context():
    """A request context on TIMEBANK_BASE_URL, so commands can build links with url_for."""
    return current_app.test_request_context(base_url=current_app.config["TIMEBANK_BASE_URL"])
