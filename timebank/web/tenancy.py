"""Which bank a request is about, and bank-aware URLs.

Bank pages answer at two addresses: ``/b/<slug>/…`` and the plain path. The
plain path serves the *current* bank: the one in the URL last visited
(remembered in the session) if the person belongs to it, else their first
bank, else the install's first bank. An install with one bank therefore
works at ``/`` exactly as a single-bank site; with several, ``url_for``
builds the ``/b/<slug>/`` form for the current bank, so links stay in it.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, g, has_app_context, has_request_context, session
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from timebank.core.links import bank_url  # noqa: F401  (routes link into a bank)
from timebank.core.models import Bank, MemberStatus
from timebank.infra.extensions import db

PREFIX = "/b/<bank>"
# Endpoints that also answer under PREFIX (filled as blueprints register routes).
BANK_ENDPOINTS: set[str] = set()


class BankBlueprint(Blueprint):
    """A blueprint whose every route also answers under ``/b/<bank>``."""

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        super().add_url_rule(rule, endpoint, view_func, **options)
        super().add_url_rule(PREFIX + rule, endpoint, view_func, **options)
        name = endpoint or (view_func.__name__ if view_func else None)
        if name:
            BANK_ENDPOINTS.add(f"{self.name}.{name}")


_BANK_COUNT = select(func.count(Bank.id))  # every page asks: built once


def bank_count() -> int:
    if has_app_context() and "bank_count" in g:
        return g.bank_count
    try:
        count = db.session.scalar(_BANK_COUNT) or 0
    except SQLAlchemyError:
        # Links on an error page must still build when the database cannot answer.
        db.session.rollback()
        return 0
    if has_app_context():
        g.bank_count = count
    return count


def know_bank_count(count: int | None) -> None:
    """The number of banks, read with the member behind the session (one round trip);
    None after this request made a bank: it is counted again when next asked."""
    if not has_app_context():
        return
    if count is None:
        g.pop("bank_count", None)
    else:
        g.bank_count = count


def default_bank() -> Bank | None:
    return db.session.scalar(select(Bank).order_by(Bank.id).limit(1))


def bank_by_slug(slug: str) -> Bank | None:
    return db.session.scalar(select(Bank).where(Bank.slug == slug))


def _person_banks() -> list[int]:
    """The banks the logged-in person is an active member of, lowest id first."""
    if not (has_request_context() and current_user.is_authenticated):
        return []
    # The member's memberships, loaded once for the request (role checks read them too).
    return sorted(m.bank_id for m in current_user.all_memberships()
                  if m.status == MemberStatus.ACTIVE)


def _resolve() -> Bank | None:
    if has_request_context():
        remembered = session.get("bank")
        bank = bank_by_slug(remembered) if isinstance(remembered, str) else None
        if current_user.is_authenticated and current_user.install_role == "resident":
            mine = _person_banks()
            if bank is not None and bank.id in mine:
                return bank
            if mine:
                return db.session.get(Bank, mine[0])
        if bank is not None:
            return bank
    return default_bank()


def current_bank() -> Bank | None:
    """The bank this request (or command) is about; None only before any bank exists."""
    if not has_app_context():
        return None
    if "bank" not in g:
        try:
            g.bank = _resolve()
        except SQLAlchemyError:
            # Error pages (and the language choice) must still work when the database
            # cannot answer; whatever needed the bank fails on its own.
            db.session.rollback()
            return None
    return g.bank


def current_bank_id() -> int | None:
    bank = current_bank()
    return bank.id if bank is not None else None


def use_bank(bank: Bank | None) -> None:
    """Make ``bank`` the current one for the rest of this app context (commands, tests)."""
    g.bank = bank
    g.pop("_fragment_context", None)  # (``caching.remember``: addresses name the bank)


def my_banks() -> list[Bank]:
    """Banks the logged-in person belongs to, for the switcher."""
    ids = _person_banks()
    if not ids:
        return []
    return list(db.session.scalars(select(Bank).where(Bank.id.in_(ids)).order_by(Bank.name)))


def init_app(app: Flask) -> None:
    @app.url_value_preprocessor
    def _bank_from_url(endpoint, values):
        if values and "bank" in values:
            bank = bank_by_slug(values.pop("bank"))
            if bank is None:
                abort(404)
            g.bank = g.bank_in_url = bank
            # Another bank's pages are closed to those who do not belong to it
            # (permissions.init_app), and it does not become their current bank.
            stranger = current_user.is_authenticated and current_user.role_in(bank.id) is None
            if not stranger and session.get("bank") != bank.slug:
                session["bank"] = bank.slug

    @app.url_defaults
    def _bank_in_urls(endpoint, values):
        if ("bank" in values or endpoint not in BANK_ENDPOINTS or not has_request_context()
                or bank_count() < 2):
            return
        bank = current_bank()
        if bank is not None:
            values["bank"] = bank.slug

    @app.context_processor
    def _bank_context():
        bank = current_bank()
        several = bank is not None and bank_count() > 1
        return {"bank": bank, "bank_name": bank.name if bank else "timebank",
                "my_banks": my_banks if several else list}
