"""The site's menu, as data: each link is shown exactly when the permissions table lets
the person open its page (the action its route names with ``@allow``), so the menu and
the table cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.web import caching
from timebank.web.permissions import audience, may


@dataclass(frozen=True)
class Link:
    label: object  # a lazy string, worded in the page's language
    endpoint: str
    args: dict = field(default_factory=dict)
    boost: bool = True  # False: a full page load (the map pages load their own scripts)
    # Another label when the person may also do this (the directory is a coordinator's
    # "Directory": their "Members" is the management list in Coordinate).
    label_if: tuple[str, object] | None = None
    badge: bool = False  # the unread notifications' count
    signed_in: bool = True  # False: for visitors only (log in, join)


@dataclass(frozen=True)
class Section:
    title: object | None  # None: links in the top row; else a menu of its own
    links: tuple[Link, ...]


MENU = (
    Section(None, (
        Link(_l("Asset map"), "assets.index", boost=False, signed_in=None),
        Link(_l("Ideas"), "ideas.index", signed_in=None),
        Link(_l("Events"), "events.index", signed_in=None),
        Link(_l("Home"), "main.index"),
        Link(_l("Offers and requests"), "listings.browse"),
        Link(_l("Members"), "members.directory", label_if=("members.manage", _l("Directory"))),
        Link(_l("Record time"), "exchanges.new"),
        Link(_l("Welcome and buddies"), "members.helpers"),
        Link(_l("Statement"), "exchanges.statement"),
        Link(_l("Notifications"), "notifications.index", badge=True),
    )),
    # Running a bank and the install: two menus, not a dozen more links in a row.
    Section(_l("Coordinate"), (
        Link(_l("Matching"), "matching.workbench"),
        Link(_l("Conversations"), "matching.conversations"),
        Link(_l("Reports"), "reports.bank_report"),
        Link(_l("Members"), "members.manage"),
        Link(_l("Assets to check"), "assets.moderate"),
        Link(_l("Record for a member"), "exchanges.on_behalf"),
        Link(_l("Group activity"), "exchanges.group"),
        Link(_l("All exchanges"), "exchanges.recent"),
        Link(_l("Second coordinator"), "approvals.waiting"),
        Link(_l("Bank contact details"), "banks.contact"),
    )),
    Section(_l("Admin"), (
        Link(_l("Kinds of help"), "admin.taxonomy", {"kind": "categories"}),
        Link(_l("Kinds of asset"), "admin.taxonomy", {"kind": "asset-categories"}),
        Link(_l("Audit trail"), "admin.audit_log"),
        Link(_l("Scheduled jobs"), "admin.jobs"),
        Link(_l("Banks"), "banks.index"),
    )),
    Section(None, (
        Link(_l("Coverage gaps"), "assets.gaps", boost=False),
        Link(_l("Area reports"), "reports.area_report"),
        Link(_l("Profile"), "members.profile"),
        Link(_l("Log in"), "auth.login", signed_in=False),
        Link(_l("Join"), "auth.register", signed_in=False),
    )),
)


@dataclass(frozen=True)
class Shown:
    label: str
    url: str
    boost: bool
    badge: bool


def action_of(endpoint: str) -> str:
    """The permissions table's row the page's route names (``@allow``)."""
    return current_app.view_functions[endpoint].permission


def _visible(link: Link) -> bool:
    if link.signed_in is not None and link.signed_in != current_user.is_authenticated:
        return False
    return may(action_of(link.endpoint))


def menu() -> list[tuple[str | None, list[Shown]]]:
    """The sections this person sees, each with the links they may follow: the same for
    everyone of one audience, in one language and bank, so worked out once per worker
    (``caching.once``) rather than on every page."""
    return caching.once(("menu", audience()), _sections)


def _sections() -> list[tuple[str | None, list[Shown]]]:
    sections = []
    for section in MENU:
        shown = []
        for link in section.links:
            if not _visible(link):
                continue
            label = link.label
            if link.label_if is not None and may(link.label_if[0]):
                label = link.label_if[1]
            shown.append(Shown(str(label), url_for(link.endpoint, **link.args), link.boost,
                               link.badge))
        if shown:
            sections.append((str(section.title) if section.title else None, shown))
    return sections
