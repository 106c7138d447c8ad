"""Registering, logging in and out, and looking after one's account."""

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from timebank.core import auth as service
from timebank.core.models import Member
from timebank.infra.extensions import db
from timebank.web import routing
from timebank.web.auth import start_session
from timebank.web.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ForgotForm,
    LoginForm,
    RegisterForm,
    ResetForm,
)
from timebank.web.auth.limits import account_limit, client_network, closed_without_counting
from timebank.web.extensions import limiter
from timebank.web.forms import ActionForm, place, safe_next
from timebank.web.htmx import render, render_form
from timebank.web.permissions import allow
from timebank.web.tenancy import BankBlueprint, current_bank

bp = BankBlueprint("auth", __name__)


def _register_rate() -> str:
    return current_app.config["TIMEBANK_REGISTER_RATE"]


@bp.route("/register", methods=["GET", "POST"])
@allow("account.join")
@limiter.limit(_register_rate, methods=["POST"])
@closed_without_counting
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    if current_bank() is None:
        abort(404)  # no bank to join yet
    form = RegisterForm()
    if form.validate_on_submit():
        service.register(form.email.data, form.display_name.data, form.neighbourhood.data,
                         form.password.data, current_bank())
        # The same answer whether or not the address was known (the owner gets an e-mail).
        flash(_("Thank you for joining. Please open the link we have e-mailed you to "
                "confirm your address. A coordinator will then check your details and "
                "approve your membership; you can log in once they have."), "success")
        return redirect(url_for("main.index"))
    return render_form("auth/register.html", form)


def _login_rate() -> str:
    return current_app.config["TIMEBANK_LOGIN_RATE"]


def _email_rate() -> str:
    return current_app.config["TIMEBANK_LOGIN_RATE_PER_EMAIL"]


def _email_key() -> str:
    # Guessing one member's password is limited per (address, client): a stranger's
    # failures elsewhere cannot lock the member out of their own account.
    email = Member.normalise_email(request.form.get("email", ""))[:254]
    return f"login-email:{email}:{client_network()}"


def _attempt() -> tuple[Member | None, service.AuthError | None]:
    """This request's log-in attempt, judged once: the limit's cost and the view read it."""
    if "login_attempt" not in g:
        try:
            g.login_attempt = (service.authenticate(request.form.get("email", ""),
                                                    request.form.get("password", "")), None)
        except service.AuthError as error:
            g.login_attempt = (None, error)
    return g.login_attempt


def _failed_cost() -> int:
    # Per client address only failed attempts count (a drop-in's shared computer: twenty
    # neighbours logging in one after another must not lock the next one out). Judged
    # before the view and counted in one atomic step, so parallel guesses cannot slip
    # through as they did when failures were counted after the answer.
    return 0 if _attempt()[0] is not None else 1


@bp.route("/login", methods=["GET", "POST"])
@allow("account.login")
@limiter.limit(_login_rate, methods=["POST"], cost=_failed_cost)
# Every attempt at one address counts, successful or not.
@limiter.limit(_email_rate, methods=["POST"], key_func=_email_key)
@closed_without_counting
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        member, error = _attempt()
        if error is not None:
            place(form, error)
        else:
            start_session(member)
            flash(_("Welcome, %(name)s.", name=member.display_name), "success")
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_form("auth/login.html", form)


@bp.route("/logout", methods=["POST"])
@allow("account.logout")
def logout():
    if current_user.is_authenticated:
        service.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.pop("bank", None)  # the next person at this browser starts afresh
    session.pop(routing.WROTE, None)  # (and did not just change anything)
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.index"))


# -- account recovery and changes ----------------------------------------------------------


def _reset_rate() -> str:
    return current_app.config["TIMEBANK_RESET_RATE"]


@bp.route("/password/forgot", methods=["GET", "POST"])
@allow("account.recover")
@limiter.limit(_reset_rate, methods=["POST"])
@closed_without_counting
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        service.request_reset(form.email.data)
        # The same answer whether or not the address is known.
        flash(_("If that address belongs to a member, we have e-mailed a link to set a new "
                "password. It works once, for an hour."), "success")
        return redirect(url_for("auth.login"), 303)
    return render_form("auth/forgot.html", form)


def _dead_link(error: service.AuthError):
    return render("auth/dead_link.html", message=error.message, status=410)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@allow("account.recover")
def reset_password(token: str):
    try:
        member = service.password_link(token)
    except service.AuthError as error:
        return _dead_link(error)
    form = ResetForm()
    form.password_hints = [member.email or "", member.display_name]
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data)
        except service.AuthError as error:
            return _dead_link(error)
        if current_user.is_authenticated:
            logout_user()
        flash(_("Your new password is set. Please log in with it."), "success")
        return redirect(url_for("auth.login"), 303)
    return render_form("auth/reset.html", form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@allow("account.recover")
def confirm(token: str):
    """An address confirmation: the link shows a button, so a mail scanner that opens
    links does not use it up."""
    form = ActionForm()
    try:
        if form.validate_on_submit():
            service.confirm_address(token)
            flash(_("Thank you: your e-mail address is confirmed."), "success")
            return redirect(url_for("main.index"), 303)
        try:
            service.read_link(token, "verify")
        except service.AuthError:
            service.read_link(token, "email")
    except service.AuthError as error:
        return _dead_link(error)
    return render("auth/confirm.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@allow("account.own")
@account_limit
def change_password():
    form = ChangePasswordForm()
    form.password_hints = [current_user.email or "", current_user.display_name]
    if form.validate_on_submit():
        member = current_user._get_current_object()
        try:
            service.change_password(member, form.current.data, form.password.data)
        except service.AuthError as error:
            place(form, error)
        else:
            start_session(member)  # this browser stays in; every other one is out
            flash(_("Your password is changed. Any other device you were logged in on is "
                    "logged out."), "success")
            return redirect(url_for("members.profile"), 303)
    return render_form("auth/change_password.html", form)


@bp.route("/account/email", methods=["GET", "POST"])
@allow("account.own")
@account_limit
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            service.request_email_change(current_user._get_current_object(), form.password.data,
                                         form.email.data)
        except service.AuthError as error:
            place(form, error)
        else:
            flash(_("We have e-mailed a link to the new address. Your address changes when "
                    "you open it."), "success")
            return redirect(url_for("members.profile"), 303)
    return render_form("auth/change_email.html", form)
