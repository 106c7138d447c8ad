"""Notifications: in-app messages, and e-mail queued for `flask send-mail`.

E-mail is never sent inside a request: ``notify`` queues it in the outbox
table and ``send_pending`` (the `send-mail` command, run from cron or a
worker) delivers it, leaving failures queued for the next run.
"""

from __future__ import annotations

import contextlib
import smtplib
import sys
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, or_, select, update

from timebank.core.language import language_of
from timebank.core.links import bank_url, site_context  # noqa: F401  (jobs use it)
from timebank.core.models import (
    Bank,
    EmailPreference,
    Listing,
    ListingStatus,
    Member,
    Membership,
    MemberStatus,
    Notification,
    OutboxMessage,
    Proxy,
)
from timebank.core.models.base import utcnow
from timebank.core.models.texts import CodePurpose
from timebank.core.texts import outbox
from timebank.infra import clock
from timebank.infra.db import keyset_page
from timebank.infra.extensions import db
from timebank.infra.geo import haversine_km

MAX_ATTEMPTS = 8


def absolute(path: str) -> str:
    """A site path (from ``url_for``) as a link for an e-mail, on the configured base URL."""
    return current_app.config["TIMEBANK_BASE_URL"].rstrip("/") + "/" + path.lstrip("/")


def notify(member: Member, text: object, url: str, subject: object | None = None,
           site_wide: bool = False, bank_id: int | None = None, *, by_text: bool = False,
           answers: int | None = None, acting_for: Member | None = None,
           not_to: int | None = None) -> None:
    """Tell ``member`` something in the app, and by e-mail if they want it now. Caller commits.

    ``url`` is a site path from ``url_for``; e-mails carry it on TIMEBANK_BASE_URL. The
    notification belongs to the bank ``bank_id``, or to none when it is ``site_wide``
    (assets, say): then it shows in every bank.

    ``by_text``: news that changes their hours also goes to their mobile, if they chose
    texts; ``answers``: an exchange they are asked to confirm, so the text carries a code
    to reply YES or NO with. Whoever acts for the member (``core.proxies``) is told too,
    as "For <member>: …", and their code answers for the member (but not ``not_to``:
    the proxy whose own step the news is about).
    """
    if not site_wide and bank_id is None:
        raise ValueError("notify() needs the bank the news belongs to, or site_wide=True")
    # Texts may be lazy: they are put into words here, in the recipient's language.
    with force_locale(language_of(member, bank_id)):
        shown: str = str(text)
        title: str | None = str(subject) if subject else None
        if acting_for is not None:
            shown = _("For %(name)s: %(text)s", name=acting_for.display_name, text=shown)
            title = _("For %(name)s: %(text)s", name=acting_for.display_name,
                      text=title or shown[:100])
        db.session.add(Notification(member_id=member.id, bank_id=bank_id, text=shown[:300],
                                    url=url[:300]))
        if member.email_preference == EmailPreference.IMMEDIATELY:
            # Signed by the bank the news is about (the member may belong to several).
            bank = db.session.get(Bank, bank_id) if bank_id is not None else None
            queue_email(member, title or shown[:100], f"{shown}\n\n{absolute(url)}\n",
                        bank_name=bank.name if bank is not None else None)
        if by_text and outbox.wants_texts(member):
            body = shown
            if answers is not None:
                code = outbox.new_code(member.id, CodePurpose.EXCHANGE, utcnow(),
                                       exchange_id=answers,
                                       acting_for_id=acting_for.id if acting_for else None)
                # What to do first: on a small screen, and before any date's digits.
                body = _("Reply YES %(code)s or NO %(code)s.", code=code.code) + " " + body
            outbox.queue(member.mobile, body, member_id=member.id, bank_id=bank_id,
                         kind="news")
    # A member's own news goes to whoever acts for them; a coordinator's work (requests
    # for a second coordinator, people's details) never does.
    if acting_for is None and bank_id is not None and not member.is_staff_in(bank_id):
        for proxy in _proxies_of(member.id, bank_id):
            if proxy.id == not_to:
                continue
            notify(proxy, text, url, subject, site_wide, bank_id, by_text=by_text,
                   answers=answers, acting_for=member)


def _proxies_of(member_id: int, bank_id: int | None) -> list[Member]:
    """Who acts for the member today (in the bank the news is about)."""
    query = (select(Member).join(Proxy, Proxy.proxy_id == Member.id)
             .where(Proxy.member_id == member_id, *Proxy.holding(clock.today()),
                    Member.status == MemberStatus.ACTIVE, Member.erased_at.is_(None)))
    if bank_id is not None:
        query = query.where(Proxy.bank_id == bank_id)
    return list(db.session.scalars(query.order_by(Member.id)).unique())


def queue_email(member: Member, subject: str, body: str, bank_name: str | None = None,
                *, to_email: str | None = None, account: bool = False) -> OutboxMessage | None:
    """Queue an e-mail to ``member`` (or to ``to_email``: a new address being confirmed).

    ``account`` mails (reset links, confirmations) go whatever the member's e-mail
    setting says, and their footer says why.
    """
    if not (to_email or member.email):
        return None  # enrolled without e-mail: the coordinator keeps them informed
    name = bank_name or _bank_name_of(member)
    why = (_("You get this because this address was given on our site. If that was not "
             "you, you need do nothing.") if account else
           _("You get this because of your e-mail setting on your profile. You can change "
             "it there at any time."))
    footer = "\n--\n" + name + "\n" + why + "\n"
    # Subjects are one line: member text (a listing title…) must not break the header.
    subject = " ".join(subject.split())[:200]
    message = OutboxMessage(member_id=member.id, to_email=to_email or member.email,
                            subject=subject, body=body + footer)
    db.session.add(message)
    if current_app.config.get("TIMEBANK_MAIL_ECHO"):
        echo_email(message)
    return message


def _bank_name_of(member: Member) -> str:
    """Who signs a mail not about one bank: the member's first bank (where they joined)."""
    name = db.session.scalar(
        select(Bank.name).join(Membership, Membership.bank_id == Bank.id)
        .where(Membership.member_id == member.id)
        .order_by((Membership.status != MemberStatus.ACTIVE), Membership.bank_id).limit(1))
    return name or db.session.scalar(select(Bank.name).order_by(Bank.id).limit(1)) or "timebank"


def echo_email(message: OutboxMessage) -> None:
    """Development: show the e-mail on the terminal as it is queued (TIMEBANK_MAIL_ECHO)."""
    rule = "-" * 72
    print(f"{rule}\nE-mail to {message.to_email}\nSubject: {message.subject}\n\n"
          f"{message.body}{rule}", file=sys.stderr, flush=True)


def in_bank(bank_id: int | None):
    """Notifications shown in a bank: its own and the site-wide ones."""
    return or_(Notification.bank_id == bank_id, Notification.bank_id.is_(None))


PAGE_SIZE = 30  # notifications a page, newest first


def page_for(member_id: int, bank_id: int | None, before: int | None = None,
             size: int = PAGE_SIZE) -> tuple[list[Notification], int | None]:
    """One page of a member's notifications in this bank, newest first, older than
    ``before`` (keyset paging: page ten costs what page one does); and the id to ask
    for the next page before, or None on the last page."""
    query = select(Notification).where(Notification.member_id == member_id,
                                         in_bank(bank_id))
    if before is not None:
        query = query.where(Notification.id < before)
    return keyset_page(db.session.scalars(query.order_by(Notification.id.desc())
                                          .limit(size + 1)), size)


UNREAD_COUNTED = 100  # the menu's badge says "99+" from here on
# Built once: every page's menu asks, and building the statement took longer than
# running it.
_UNREAD = select(func.count()).select_from(
    select(Notification.id)
    .where(Notification.member_id == bindparam("member"), Notification.read_at.is_(None),
           or_(Notification.bank_id == bindparam("bank"), Notification.bank_id.is_(None)))
    .limit(UNREAD_COUNTED).subquery())


def unread_count(member_id: int, bank_id: int | None) -> int:
    """How many notifications the member has not read in a bank (``in_bank``),
    counted up to UNREAD_COUNTED: a busy member has thousands, and the badge no room."""
    return db.session.scalar(_UNREAD, {"member": member_id, "bank": bank_id}) or 0


def mark_all_read(member_id: int, bank_id: int | None) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.member_id == member_id, Notification.read_at.is_(None),
               in_bank(bank_id))
        .values(read_at=utcnow())
    )


def send_pending(config, limit: int = 200) -> tuple[int, int]:
    """Send queued e-mail through SMTP; return (sent, failed). Failures stay queued."""
    pending = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    if not pending:
        return 0, 0
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as error:
        for message in pending:
            message.attempts += 1
            message.last_error = f"connect: {error}"[:1000]
        db.session.commit()
        return 0, len(pending)
    try:
        for message in pending:
            try:
                smtp.send_message(_email(config, message))
            except (OSError, smtplib.SMTPException, ValueError) as error:
                # One bad message must never hold up the rest of the queue.
                message.attempts += 1
                message.last_error = str(error)[:1000]
                failed += 1
            else:
                message.sent_at = utcnow()
                message.attempts += 1
                message.last_error = ""
                sent += 1
            db.session.commit()  # one at a time: a crash never re-sends what went out
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
    return sent, failed


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["TIMEBANK_MAIL_HOST"], config["TIMEBANK_MAIL_PORT"], timeout=10)
    if config["TIMEBANK_MAIL_STARTTLS"]:
        smtp.starttls()
    if config["TIMEBANK_MAIL_USERNAME"]:
        smtp.login(config["TIMEBANK_MAIL_USERNAME"], config["TIMEBANK_MAIL_PASSWORD"] or "")
    return smtp


def _email(config, message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config["TIMEBANK_MAIL_SENDER"]
    email["To"] = message.to_email
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def queue_digests(now: datetime | None = None, radius_km: float = 5.0) -> int:
    """Queue the weekly digest for members who chose it: new listings near them in their
    categories since their last digest. Returns how many digests were queued.

    Builds links with ``url_for``: outside a request, run it in ``site_context()``.
    """
    now = now or utcnow()
    week_ago = now - timedelta(days=7)
    members = db.session.scalars(
        select(Member).where(
            Member.status == MemberStatus.ACTIVE,
            Member.email_preference == EmailPreference.WEEKLY,
            (Member.last_digest_at.is_(None)) | (Member.last_digest_at <= week_ago),
        )
    ).all()
    if not members:
        return 0
    recent = db.session.scalars(
        select(Listing).where(Listing.status == ListingStatus.OPEN,
                              Listing.created_at > week_ago)
        .order_by(Listing.created_at)
    ).all()
    own_categories: dict[tuple[int, int], set[int]] = {}
    for member_id, bank_id, category_id in db.session.execute(
        select(Listing.member_id, Listing.bank_id, Listing.category_id).distinct()
    ):
        own_categories.setdefault((member_id, bank_id), set()).add(category_id)
    banks_of: dict[int, list[Bank]] = {}
    coordinating: set[tuple[int, int]] = set()
    for membership in db.session.scalars(select(Membership).where(
            Membership.member_id.in_([m.id for m in members]),
            Membership.status == MemberStatus.ACTIVE)):
        banks_of.setdefault(membership.member_id, []).append(membership.bank)
        if membership.role == "coordinator":
            coordinating.add((membership.member_id, membership.bank_id))
    # Coordinators' digests open with the applications waiting in their bank.
    applications = dict(db.session.execute(
        select(Membership.bank_id, func.count()).join(Member, Member.id == Membership.member_id)
        .where(Membership.status == MemberStatus.PENDING,
               (Member.email_verified_at.is_not(None)) | (Member.email.is_(None)))
        .group_by(Membership.bank_id)).all())
    # What the site told them since (an exchange to confirm, an answer) and they have
    # not read: a weekly reader gets no e-mail at once, so the digest carries it.
    news: dict[tuple[int, int | None], list[Notification]] = {}
    for note in db.session.scalars(
            select(Notification).where(Notification.member_id.in_([m.id for m in members]),
                                       Notification.read_at.is_(None),
                                       Notification.created_at > week_ago)
            .order_by(Notification.id)):
        news.setdefault((note.member_id, note.bank_id), []).append(note)
    queued = 0
    for member in members:
        since = max(member.last_digest_at or week_ago, week_ago)
        member.last_digest_at = now
        # One digest per bank the member belongs to, with that bank's listings only.
        for bank in banks_of.get(member.id, []):
            cats = own_categories.get((member.id, bank.id), set())
            picks = [listing for listing in recent if listing.bank_id == bank.id
                     and listing.member_id != member.id and listing.created_at > since
                     and (not cats or listing.category_id in cats)
                     and not _too_far(member, listing, radius_km)]
            waiting = (applications.get(bank.id, 0)
                       if (member.id, bank.id) in coordinating else 0)
            told = [note for note in news.get((member.id, bank.id), [])
                    if note.created_at > since]
            if not picks and not waiting and not told:
                continue
            with force_locale(language_of(member, bank.id)):
                lines = []
                if told:
                    lines += [_("For you (%(num)s):", num=len(told)), ""]
                    for note in told[:20]:
                        lines += [f"- {note.text}", f"  {absolute(note.url)}"]
                    lines.append("")
                if waiting:
                    link = bank_url("members.manage", bank.id, status="pending")
                    lines += [_("Applications waiting for approval: %(num)s", num=waiting),
                              f"  {absolute(link)}", ""]
                if picks:
                    lines += [_("New in %(bank)s this week (%(num)s):", bank=bank.name,
                                num=len(picks)), ""]
                for listing in picks[:20]:
                    lines.append(f"- {listing.kind_label}: {listing.title} "
                                 f"({listing.category.name})")
                    link = bank_url("listings.show", bank.id, listing_id=listing.id)
                    lines.append(f"  {absolute(link)}")
                queue_email(member, _("This week in %(bank)s", bank=bank.name),
                            "\n".join(lines) + "\n", bank_name=bank.name)
            queued += 1
    db.session.commit()
    return queued


def _too_far(member: Member, listing: Listing, radius_km: float) -> bool:

    return (member.public_latitude is not None and listing.latitude is not None
            and haversine_km(member.public_latitude, member.public_longitude,
                             listing.latitude, listing.longitude) > radius_km)
