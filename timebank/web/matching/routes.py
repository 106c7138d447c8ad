"""Matching pages: the coordinator's workbench, introductions, and the two sides' match page."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core.errors import Refused
from timebank.core.matching import brokering, ranking
from timebank.core.members.lookup import MemberNotFound, member_label, resolve_member
from timebank.core.models import Match
from timebank.core.models.base import utcnow
from timebank.infra.extensions import db
from timebank.web.forms import ActionForm, button_pressed, category_choices, place
from timebank.web.htmx import render
from timebank.web.matching.forms import IntroduceForm, MessageForm, RespondForm, WorkbenchForm
from timebank.web.permissions import allow, may
from timebank.web.routing import arg_id
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("matching", __name__)
REQUESTS_PER_PAGE = 10
CANDIDATES_EACH = 5


@bp.route("/coordinator/matching")
@allow("matching.broker")
def workbench():
    """Open requests with the members most likely to help, and why; filters and order."""
    filters = WorkbenchForm(request.args)
    filters.category.choices = category_choices(_("Any kind of help"))
    if not filters.validate():
        return render("matching/workbench.html", rows=[], filters=filters, next_after=None,
                      weights=ranking.WEIGHTS, status=422)
    page = brokering.workbench(
        current_bank_id(), arg_id("after"), REQUESTS_PER_PAGE, CANDIDATES_EACH,
        category_id=filters.category.data or None,
        neighbourhood=(filters.neighbourhood.data or "").strip(),
        waited_days=filters.waiting.data or 0, newest=filters.order.data == "newest",
        unhelped=bool(filters.unhelped.data))
    args = {k: v for k, v in request.args.items() if k in filters.data and v}
    return render("matching/workbench.html", rows=page.rows, filters=filters, args=args,
                  next_after=page.next_after, weights=ranking.WEIGHTS)


@bp.route("/coordinator/matching/introduce", methods=["POST"])
@allow("matching.broker")
def introduce():
    form = IntroduceForm()
    if not form.validate_on_submit():
        abort(400, _("The introduction form was incomplete; please try again."))
    try:
        # A name typed in "someone else" wins: Enter in that box presses the form's
        # first button, which is a candidate's.
        helper_id = int(form.helper_id.data) if not (form.helper.data or "").strip() else ""
        helper_id = int(helper_id)
    except ValueError:  # "other": someone found by name
        try:
            helper_id = resolve_member(form.helper.data or "", current_bank_id())[0].id
        except MemberNotFound as error:
            flash(error.message + " " + " ".join(map(member_label, error.candidates)), "error")
            return redirect(url_for("matching.workbench"), 303)
    try:
        score = float(request.form.get(f"score_{helper_id}", ""))
    except ValueError:
        score = None
    try:
        match = brokering.introduce(form.request_id.data, helper_id, current_user,
                                    form.note.data or "", current_bank_id(), score)
    except Refused as error:  # (safeguarding's too: a candidate without the checks)
        flash(error.message, "error")
        return redirect(url_for("matching.workbench"), 303)
    flash(_("Introduced %(helper)s to %(requester)s. Both have been told.",
            helper=match.helper.display_name, requester=match.requester.display_name),
          "success")
    return redirect(url_for("matching.workbench"), 303)


@bp.route("/coordinator/conversations")
@allow("matching.broker")
def conversations():
    """Every introduction and member-started conversation in the bank, newest first, so a
    coordinator can step in; ``waiting=1``: those unanswered after a week."""
    waiting = request.args.get("waiting") == "1"
    matches, next_before = brokering.conversations_page(current_bank_id(), utcnow(), waiting,
                                                        arg_id("before"))
    return render("matching/conversations.html", matches=matches, waiting=waiting,
                  next_before=next_before)


@bp.route("/listings/<int:listing_id>/respond", methods=["POST"])
@allow("matches.start")
def respond(listing_id: int):
    """ "I can help" / "I'd like this": a conversation with the listing's owner."""
    form = RespondForm()
    if not form.validate_on_submit():
        abort(400, _("Please keep the message under 2,000 characters."))
    try:
        match, new = brokering.respond(listing_id, current_user._get_current_object(),
                                       form.message.data or "", current_bank_id())
    except Refused as error:  # (safeguarding's too: 403, saying whom to ask)
        if error.status != 409:
            abort(error.status, error.message)
        flash(error.message, "error")
        return redirect(url_for("listings.show", listing_id=listing_id), 303)
    flash(_("%(name)s has been told. Carry on the conversation here.",
            name=match.helper.display_name if match.requester_id == current_user.id
            else match.requester.display_name) if new else
          _("You already answered this one: here is the conversation."), "success")
    return redirect(url_for("matching.show", match_id=match.id), 303)


def _visible_match(match_id: int) -> Match:
    match = db.get_or_404(Match, match_id)
    if not may("matches.view", match):
        abort(404)
    return match


@bp.route("/matches")
@allow("matches.view")
def mine():
    return render("matching/mine.html",
                  matches=brokering.matches_of(current_user, current_bank_id()))


@bp.route("/matches/<int:match_id>")
@allow("matches.view")
def show(match_id: int):
    match = _visible_match(match_id)
    messages = brokering.messages_of(match)
    return render("matching/show.html", match=match, messages=messages,
                  side=brokering.side_of(match, current_user), message_form=MessageForm(),
                  action_form=ActionForm())


@bp.route("/matches/<int:match_id>/<any(accept,decline):action>", methods=["POST"])
@allow("matches.act")
def answer(match_id: int, action: str):
    _visible_match(match_id)
    button_pressed()
    try:
        brokering.answer(match_id, current_user, action == "accept")
    except brokering.BrokeringError as error:
        flash(error.message, "error")
    else:
        flash(_("Thank you: you accepted.") if action == "accept" else _("You declined."),
              "success")
    return redirect(url_for("matching.show", match_id=match_id), 303)


@bp.route("/matches/<int:match_id>/complete", methods=["POST"])
@allow("matches.act")
def complete(match_id: int):
    _visible_match(match_id)
    button_pressed()
    try:
        _match, url = brokering.complete(match_id, current_user)
    except brokering.BrokeringError as error:
        flash(error.message, "error")
        return redirect(url_for("matching.show", match_id=match_id), 303)
    flash(_("Marked as done. Now record the time, so it counts."), "success")
    return redirect(url, 303)


@bp.route("/matches/<int:match_id>/messages", methods=["POST"])
@allow("matches.act")
def message(match_id: int):
    match = _visible_match(match_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            brokering.post_message(match.id, current_user, form.body.data)
        except brokering.BrokeringError as error:
            place(form, error, "body")
        else:
            return redirect(url_for("matching.show", match_id=match.id) + "#messages", 303)
    messages = brokering.messages_of(match)
    return render("matching/show.html", status=422, match=match, messages=messages,
                  side=brokering.side_of(match, current_user), message_form=form,
                  action_form=ActionForm())
