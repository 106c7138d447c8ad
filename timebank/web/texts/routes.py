"""The gateway's webhook: texts members send arrive here (``POST /sms/inbound``).

The gateway signs each post (``X-Twilio-Signature`` over TIMEBANK_BASE_URL, the path
and the posted fields); a post without a good signature gets 403 and changes nothing.
There is no CSRF token (the signature is the proof of origin) and no session. The
answer is an empty TwiML document at once: replies are queued and sent by `send-sms`.
"""

import logging

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import OperationalError

from timebank.core.members.service import may_edit_details
from timebank.core.models import Member
from timebank.core.texts import phones
from timebank.core.texts.inbound import receive
from timebank.infra import clock
from timebank.infra.db import MAX_ID
from timebank.infra.extensions import db
from timebank.infra.sms import valid_signature
from timebank.web.extensions import csrf, limiter
from timebank.web.forms import ActionForm, button_pressed, place
from timebank.web.htmx import render
from timebank.web.permissions import allow
from timebank.web.tenancy import BankBlueprint, current_bank_id
from timebank.web.texts.forms import CodeForm, MobileForm, PreferenceForm

log = logging.getLogger("timebank.texts")
bp = Blueprint("texts", __name__)
account = BankBlueprint("text_account", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed_urls() -> list[str]:
    """The URL the gateway was given: the site's public base (TIMEBANK_BASE_URL), this
    path and query; or, as the gateways' own libraries check it, the URL this request
    arrived at (behind a proxy, as its X-Forwarded-* headers say when trusted). Either
    way only the holder of the auth token can sign it."""
    query = request.query_string.decode("utf-8", "replace")
    base = current_app.config["TIMEBANK_BASE_URL"].rstrip("/")
    return list(dict.fromkeys([base + request.path + (f"?{query}" if query else ""),
                               request.url]))


@bp.route("/sms/inbound", methods=["POST"])
@csrf.exempt
@limiter.limit("600/minute")
@allow("texts.gateway")
def inbound():
    fields = list(request.form.items(multi=True))
    token, given = (current_app.config["TIMEBANK_SMS_AUTH_TOKEN"],
                    request.headers.get("X-Twilio-Signature"))
    if not any(valid_signature(url, fields, token, given) for url in _signed_urls()):
        abort(403)
    try:
        receive(request.form.get("MessageSid", ""), request.form.get("From", ""),
                request.form.get("Body", ""), clock.utcnow(), clock.today())
    except OperationalError:
        # The database could not take it (busy, gone): nothing was kept, so the gateway
        # may send it again (each MessageSid is done once).
        db.session.rollback()
        log.warning("text %s not stored: database unavailable",
                    request.form.get("MessageSid", "")[:64])
        return Response(EMPTY_TWIML, status=503, mimetype="text/xml",
                        headers={"Retry-After": "60"})
    return Response(EMPTY_TWIML, mimetype="text/xml")


# -- a member's own mobile ------------------------------------------------------------


def _page(status: int = 200, **forms):
    member = current_user
    preference = forms.pop("preference", None) or PreferenceForm(
        preference=member.text_preference)
    return render("texts/account.html", status=status, member=member,
                  our_number=current_app.config.get("TIMEBANK_SMS_FROM", ""),
                  checking=phones.checking(member, clock.utcnow()),
                  mobile_form=forms.get("mobile") or MobileForm(),
                  code_form=forms.get("code") or CodeForm(), preference_form=preference,
                  action_form=ActionForm())


@account.route("/account/texts")
@allow("account.own")
def mine():
    return _page()


@account.route("/account/texts/mobile", methods=["POST"])
@allow("account.own")
@limiter.limit("5/hour")  # each check costs a text
def add_mobile():
    form = MobileForm()
    if form.validate_on_submit():
        try:
            phones.start_check(current_user, form.mobile.data, current_bank_id(),
                               clock.utcnow())
        except phones.PhoneRefused as refused:
            place(form, refused, fields={"": "mobile"}, default="mobile")
        else:
            db.session.commit()
            flash(_("We texted a code to that number: type it below."), "success")
            return redirect(url_for("text_account.mine"), 303)
    return _page(422, mobile=form)


@account.route("/account/texts/code", methods=["POST"])
@allow("account.own")
@limiter.limit("20/hour")
def check_code():
    form = CodeForm()
    if form.validate_on_submit():
        try:
            phones.finish_check(current_user, form.code.data, clock.utcnow())
        except phones.PhoneRefused as refused:
            db.session.commit()  # a wrong guess counts
            place(form, refused, fields={"": "code"}, default="code")
        else:
            db.session.commit()
            flash(_("Your mobile is checked: texts reach it, and texts from it are yours."),
                  "success")
            return redirect(url_for("text_account.mine"), 303)
    return _page(422, code=form)


@account.route("/account/texts/preference", methods=["POST"])
@allow("account.own")
def preference():
    form = PreferenceForm()
    if form.validate_on_submit():
        phones.choose(current_user, form.preference.data)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("text_account.mine"), 303)
    return _page(422, preference=form)


@account.route("/account/texts/remove", methods=["POST"])
@allow("account.own")
def remove():
    button_pressed()
    phones.remove(current_user, current_user)
    db.session.commit()
    flash(_("Your mobile is removed: no texts go to it, and texts from it do nothing."),
          "success")
    return redirect(url_for("text_account.mine"), 303)


@account.route("/coordinator/members/<int:member_id>/mobile", methods=["GET", "POST"])
@allow("members.manage")
def set_for(member_id: int):
    """A coordinator sets the mobile of a member they enrolled: a second one agrees."""
    member = db.session.get(Member, member_id) if member_id <= MAX_ID else None
    if member is None or member.membership_in(current_bank_id()) is None:
        abort(404)
    if not may_edit_details(member, current_user, current_bank_id()):
        abort(403, _("Their details are kept by a coordinator of each bank they belong to, "
                     "or an admin."))
    form = MobileForm()
    if form.validate_on_submit():
        try:
            phones.ask_to_set(member, form.mobile.data, current_user, current_bank_id())
        except phones.PhoneRefused as refused:
            place(form, refused, default="mobile")
        else:
            db.session.commit()
            flash(_("Asked: a second coordinator agrees before texts from that mobile act "
                    "as %(name)s.", name=member.display_name), "success")
            return redirect(url_for("members.detail", member_id=member.id), 303)
    return render("texts/set_for.html", status=422 if form.errors else 200, form=form,
                  member=member)
