"""Registering, logging in and logging out."""

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ..extensions import db, limiter
from ..forms import safe_next
from ..htmx import render_form
from ..models import Member
from ..permissions import allow
from ..tenancy import BankBlueprint, current_bank
from . import service
from .forms import LoginForm, RegisterForm

bp = BankBlueprint("auth", __name__)


def _register_rate() -> str:
    return current_app.config["TIMEBANK_REGISTER_RATE"]


@bp.route("/register", methods=["GET", "POST"])
@allow("account.join")
@limiter.limit(_register_rate, methods=["POST"])
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
        flash(_("Thank you for joining. A coordinator will check your details and "
                "approve your membership; you can log in once they have."), "success")
        return redirect(url_for("main.index"))
    return render_form("auth/register.html", form)


def _login_rate() -> str:
    return current_app.config["TIMEBANK_LOGIN_RATE"]


def _email_rate() -> str:
    return current_app.config["TIMEBANK_LOGIN_RATE_PER_EMAIL"]


def _email_key() -> str:
    # Guessing one member's password from many addresses is limited too.
    return "login-email:" + Member.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@allow("account.login")
@limiter.limit(_login_rate, methods=["POST"])
@limiter.limit(_email_rate, methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            member = service.authenticate(form.email.data, form.password.data)
        except service.AuthError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            service.start_session(member)
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
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.index"))
