"""Who may do what: the one table every route names.

Each route carries ``@allow("action")``. The action's row below says which
audiences reach it at all; the ``owner`` column says, in words, the object-level
rule the route's domain code applies on top (a member sees only their own
exchanges, matches, statements…). ``tests/test_permissions.py`` walks
``app.url_map`` and checks every route for every audience against this table,
and fails on a route that names no action, so nothing new goes out unguarded.

Audiences, for the page's bank:
  anonymous    not logged in
  pending      logged in, but not (yet) an active member of this bank
  resident     an active member of this bank
  helper       a resident a coordinator asked to welcome newcomers and to buddy members
               without a computer: a resident's rights and those two, nothing more
  coordinator  runs this bank
  council      a council viewer (install-wide, read-only)
  admin        runs the install
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from timebank.core import ideas, listings
from timebank.core.assets import register
from timebank.core.ledger import statements
from timebank.core.matching import brokering
from timebank.core.members import service as members
from timebank.core.models.members import STAFF_ROLES, TRADING_ROLES, VIEWER_ROLES
from timebank.web.tenancy import current_bank_id

ANONYMOUS, PENDING, RESIDENT, HELPER, COORDINATOR, COUNCIL, ADMIN = (
    "anonymous", "pending", "resident", "helper", "coordinator", "council", "admin")
AUDIENCES = (ANONYMOUS, PENDING, RESIDENT, HELPER, COORDINATOR, COUNCIL, ADMIN)

EVERYONE = frozenset(AUDIENCES)
SIGNED_IN = EVERYONE - {ANONYMOUS}
# The roles' groups are the domain's (models/members.py), as audiences.
TRADERS = frozenset(map(str, TRADING_ROLES))
STAFF = frozenset(map(str, STAFF_ROLES))
VIEWERS = frozenset(map(str, VIEWER_ROLES))
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Rule:
    audiences: frozenset[str]
    owner: str = ""  # the object-level rule, applied by the domain code


OWN = "their own only"
PARTY = "parties to it, and the bank's staff"
BANK = "objects of this bank only"

RULES: dict[str, Rule] = {
    # Open to all: reading the site, joining, logging in and out, account recovery.
    "site.read": Rule(EVERYONE),
    "site.language": Rule(EVERYONE),
    "texts.gateway": Rule(EVERYONE, "only posts the SMS gateway signed (X-Twilio-Signature)"),
    "account.join": Rule(EVERYONE),
    "account.login": Rule(EVERYONE),
    "account.logout": Rule(EVERYONE),
    "account.recover": Rule(EVERYONE, "a link works once, for the address it was sent to"),
    "assets.read": Rule(EVERYONE, "approved assets; reviewers' names to traders only"),
    "assets.contact": Rule(EVERYONE, "the asset its signed, e-mailed link names; once"),
    "events.read": Rule(EVERYONE, "a bank's events, and the area-wide ones of its area"),
    "opendata.read": Rule(EVERYONE, "published assets as HSDS; nothing about members"),
    "ideas.read": Rule(EVERYONE, "ideas and answers; names only where the proposer chose to "
                                 "show theirs, commenters' to traders only"),
    # Someone logged in who is not (yet) a member of this bank asks to join it.
    "bank.join": Rule(frozenset({PENDING}), "themselves; the bank's coordinators approve or "
                                            "decline"),
    # Anyone logged in, about themselves.
    "account.own": Rule(SIGNED_IN, OWN),
    "notifications.own": Rule(SIGNED_IN, OWN),
    "proxies.own": Rule(TRADERS, "their own: whom they named, and whom they act for"),
    # Members who trade time in this bank.
    "members.pick": Rule(TRADERS, "names only; e-mail addresses for staff"),
    "listings.read": Rule(TRADERS, BANK),
    "listings.write": Rule(TRADERS, "the listing's owner (staff: this bank's)"),
    "exchanges.record": Rule(TRADERS, "the recorder is one of the two parties"),
    "exchanges.view": Rule(TRADERS, PARTY),
    "exchanges.answer": Rule(TRADERS, "the party who did not record it; the recorder cancels"),
    "exchanges.outcome": Rule(TRADERS, "the receiver of a confirmed exchange"),
    "statements.view": Rule(TRADERS, "their own; staff: members of this bank; helpers: the "
                                     "printed sheets of members without e-mail"),
    "matches.view": Rule(TRADERS, PARTY),
    "matches.act": Rule(TRADERS, "the requester or helper of the match"),
    "matches.start": Rule(TRADERS, "another member's open listing in this bank"),
    "assets.suggest": Rule(TRADERS, "suggestions wait for a coordinator"),
    "assets.review": Rule(TRADERS, "one review per member and asset"),
    "ideas.support": Rule(TRADERS, "one support and one rating each; a seat at a session "
                                   "of their own bank"),
    # Co-design: members and council officers propose and comment; staff and the council
    # answer.
    "ideas.propose": Rule(TRADERS | {COUNCIL}, "revising: the proposer only"),
    "ideas.comment": Rule(TRADERS | {COUNCIL}),
    "ideas.answer": Rule(STAFF | {COUNCIL}, "status and answer in public; proposer and "
                                            "supporters told"),
    "ideas.sessions": Rule(STAFF, "sessions this bank runs; attendance credited from its pool"),
    "events.post": Rule(STAFF, "events this bank runs; its helpers credited from its pool, once"),
    "events.join": Rule(TRADERS, "themselves; helping needs the kind of help's checks; coming "
                                 "to an area-wide event, membership of a bank in its area"),
    # Helpers: welcoming newcomers and buddying members without a computer.
    "helpers.welcome": Rule(frozenset({HELPER}) | STAFF,
                            "this bank's newcomers and members without e-mail: names, "
                            "neighbourhood, phone only where they chose to share it"),
    # Area views: council viewers, coordinators and admins.
    "area.view": Rule(VIEWERS),
    "reports.area": Rule(VIEWERS, "aggregates only; fewer than 5 people never shown"),
    # Running a bank: coordinators (of this bank) and admins.
    "members.manage": Rule(STAFF, "members of this bank; never their own account; making "
                                  "a resident a helper and back"),
    "exchanges.on_behalf": Rule(STAFF, "never for their own account (four eyes)"),
    "exchanges.oversee": Rule(STAFF, "exchanges touching this bank"),
    "exchanges.reverse": Rule(STAFF, "exchanges touching this bank; never their own"),
    "matching.broker": Rule(STAFF, BANK),
    "assets.moderate": Rule(STAFF),
    "assets.import": Rule(STAFF, "any import (registers are the whole area's)"),
    "bank.contact": Rule(STAFF, "this bank's details"),
    "reports.bank": Rule(STAFF, "this bank's figures"),
    "erasure.confirm": Rule(STAFF, "members of this bank; never their own request"),
    "approvals.decide": Rule(STAFF, "this bank's requests; never one they asked, nor one "
                                    "about themselves (four_eyes.py)"),
    # Running the install.
    "admin.roles": Rule(ADMINS, "never their own role"),
    "admin.taxonomy": Rule(ADMINS),
    "admin.banks": Rule(ADMINS),
    "admin.audit": Rule(ADMINS),
    "admin.jobs": Rule(ADMINS),
}


# The object-level rules, for actions whose row names one: the domain's own predicate,
# asked with the object's bank (never the page's) where the object has one.
OBJECT_RULES: dict[str, Callable[[Any, Any, int | None], bool]] = {
    "listings.write": lambda person, listing, bank: listings.may_edit(listing, person, bank),
    "listings.read": lambda person, listing, bank: listings.visible_to(listing, person, bank),
    "assets.read": lambda person, asset, _bank: register.visible_to(
        asset, person if person.is_authenticated else None),
    "matches.view": lambda person, match, _bank: brokering.may_view(match, person),
    "exchanges.view": lambda person, exchange, _bank: statements.may_view(exchange, person),
    "ideas.propose": lambda person, idea, _bank: ideas.may_revise(idea, person),
    "members.manage": lambda person, member, bank: members.may_change_status(member, person,
                                                                             bank),
}


def audience_of(person, bank_id: int | None) -> str:
    """The audience ``person`` belongs to in the bank ``bank_id``."""
    if person is None or not person.is_authenticated:
        return ANONYMOUS
    return person.role_in(bank_id) or PENDING


def audience() -> str:
    """The audience the person making this request belongs to, in the current bank
    (worked out once per request: a list page asks on every row)."""
    key = (current_bank_id(), current_user.get_id())  # (a log-in or -out starts anew)
    found = g.get("audience")
    if found is None or found[0] != key:
        found = g.audience = (key, audience_of(current_user, key[0]))
    return found[1]


def may(action: str, obj: Any = None, person: Any = None) -> bool:
    """May ``person`` (the one making this request) do ``action`` (a row of RULES), on
    ``obj`` if one is given? Routes, templates and the menu all ask this."""
    bank = current_bank_id()  # the page's; an object's own rule asks about the object's
    if person is None:
        person, who = current_user, audience()
    else:
        who = audience_of(person, bank)
    if who not in RULES[action].audiences:
        return False
    rule = OBJECT_RULES.get(action)
    return obj is None or rule is None or rule(person, obj, bank)


def allow(action: str) -> Callable:
    """Guard a view with ``RULES[action]``: log in first if needed, else 403."""
    rule = RULES[action]  # a typo fails at import, not in production

    def decorator(view: Callable) -> Callable:
        if ANONYMOUS in rule.audiences:
            guarded = view
        else:
            @wraps(view)
            @login_required
            def guarded(*args: Any, **kwargs: Any):
                if audience() not in rule.audiences:  # (the page's bank)
                    abort(403)
                return view(*args, **kwargs)

        guarded.permission = action  # type: ignore[attr-defined]
        return guarded

    return decorator


def open_to_pending(endpoint: str | None) -> bool:
    """May someone who is not an active member of a bank open this page of it?"""
    action = getattr(current_app.view_functions.get(endpoint or ""), "permission", None)
    return action is not None and PENDING in RULES[action].audiences


def init_app(app: Flask) -> None:
    @app.before_request
    def _closed_to_strangers():
        """A bank's pages named in the URL (``/b/<slug>/``) are closed to those logged in
        who do not belong to it, except those the table opens to them (log in, the
        welcome page, their own account)."""
        bank = g.get("bank_in_url")
        if (bank is not None and current_user.is_authenticated
                and current_user.role_in(bank.id) is None
                and not open_to_pending(request.endpoint)):
            abort(403, _("You are not a member of %(bank)s.", bank=bank.name))
