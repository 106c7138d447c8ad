from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import brokering, matching, notify
from ..auth import staff_required, trader_required
from ..db import write_transaction
from ..extensions import db
from ..htmx import render
from ..members.forms import ActionForm
from ..models import Listing, ListingKind, Match, MatchMessage, Notification
from ..routing import arg_id
from .forms import IntroduceForm, MessageForm

bp = Blueprint("matching", __name__)
REQUESTS_PER_PAGE = 10
CANDIDATES_EACH = 5


def _base_url() -> str:
    return current_app.config["TIMEBANK_BASE_URL"]


@bp.route("/coordinator/matching")
@staff_required
def workbench():
    """Unmatched requests, oldest first, each with its best candidates and why."""
    after = arg_id("after") or 0
    requests = db.session.scalars(
        brokering.open_listings_query()
        .where(Listing.kind == ListingKind.REQUEST.value, Listing.id > after)
        .order_by(Listing.id).limit(REQUESTS_PER_PAGE + 1)
    ).all()
    more = len(requests) > REQUESTS_PER_PAGE
    requests = requests[:REQUESTS_PER_PAGE]
    pool = brokering.candidate_pool(current_app.config["TIMEBANK_MATCHING_CACHE_SECONDS"])
    introduced = brokering.already_introduced([r.id for r in requests])
    rows = []
    for listing in requests:
        ranked = [r for r in pool.rank(brokering.need_for(listing),
                                       CANDIDATES_EACH + len(introduced[listing.id]))
                  if r.candidate.member_id not in introduced[listing.id]][:CANDIDATES_EACH]
        rows.append((listing, ranked))
    return render("matching/workbench.html", rows=rows, form=IntroduceForm(),
                  next_after=requests[-1].id if more else None, weights=matching.WEIGHTS)


@bp.route("/coordinator/matching/introduce", methods=["POST"])
@staff_required
def introduce():
    form = IntroduceForm()
    if not form.validate_on_submit():
        abort(400, "The introduction form was incomplete; please try again.")
    try:
        score = float(form.score.data) if form.score.data else None
    except ValueError:
        score = None
    try:
        match = brokering.introduce(form.request_id.data, form.helper_id.data, current_user,
                                    form.note.data or "", _base_url(), score)
    except brokering.BrokeringError as error:
        flash(error.message, "error")
        return redirect(url_for("matching.workbench"), 303)
    flash(f"Introduced {match.helper.display_name} to {match.requester.display_name}. "
          "Both have been told.", "success")
    return redirect(url_for("matching.workbench"), 303)


def _visible_match(match_id: int) -> Match:
    match = db.get_or_404(Match, match_id)
    if brokering.side_of(match, current_user) is None and not current_user.is_staff:
        abort(404)
    return match


@bp.route("/matches")
@trader_required
def mine():
    matches = db.session.scalars(
        select(Match).where((Match.requester_id == current_user.id)
                            | (Match.helper_id == current_user.id))
        .order_by(Match.id.desc()).limit(100)
    ).all()
    return render("matching/mine.html", matches=matches)


@bp.route("/matches/<int:match_id>")
@trader_required
def show(match_id: int):
    match = _visible_match(match_id)
    messages = db.session.scalars(
        select(MatchMessage).where(MatchMessage.match_id == match.id).order_by(MatchMessage.id)
    ).all()
    return render("matching/show.html", match=match, messages=messages,
                  side=brokering.side_of(match, current_user), message_form=MessageForm(),
                  action_form=ActionForm())


@bp.route("/matches/<int:match_id>/<any(accept,decline):action>", methods=["POST"])
@trader_required
def answer(match_id: int, action: str):
    _visible_match(match_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        brokering.answer(match_id, current_user, action == "accept", _base_url())
    except brokering.BrokeringError as error:
        flash(error.message, "error")
    else:
        flash("Thank you: you accepted." if action == "accept" else "You declined.", "success")
    return redirect(url_for("matching.show", match_id=match_id), 303)


@bp.route("/matches/<int:match_id>/complete", methods=["POST"])
@trader_required
def complete(match_id: int):
    _visible_match(match_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        _match, url = brokering.complete(match_id, current_user)
    except brokering.BrokeringError as error:
        flash(error.message, "error")
        return redirect(url_for("matching.show", match_id=match_id), 303)
    flash("Marked as done. Now record the time, so it counts.", "success")
    return redirect(url, 303)


@bp.route("/matches/<int:match_id>/messages", methods=["POST"])
@trader_required
def message(match_id: int):
    match = _visible_match(match_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            brokering.post_message(match.id, current_user, form.body.data, _base_url())
        except brokering.BrokeringError as error:
            form.body.errors.append(error.message)
        else:
            return redirect(url_for("matching.show", match_id=match.id) + "#messages", 303)
    messages = db.session.scalars(
        select(MatchMessage).where(MatchMessage.match_id == match.id).order_by(MatchMessage.id)
    ).all()
    return render("matching/show.html", status=422, match=match, messages=messages,
                  side=brokering.side_of(match, current_user), message_form=form,
                  action_form=ActionForm())


@bp.route("/notifications")
@login_required
def notifications():
    items = db.session.scalars(
        select(Notification).where(Notification.member_id == current_user.id)
        .order_by(Notification.id.desc()).limit(100)
    ).all()
    unread = {n.id for n in items if n.read_at is None}
    if unread:
        with write_transaction():  # a write inside a GET: take the lock properly
            notify.mark_all_read(current_user.id)  # seen now
    return render("notifications/list.html", items=items, unread=unread)

