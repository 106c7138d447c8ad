from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..extensions import db, limiter
from ..forms import safe_next
from ..htmx import render_form
from ..models import Member, MemberStatus
from ..models.audit import record as audit
from .forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        email = Member.normalise_email(form.email.data)
        if db.session.scalar(select(Member.id).where(Member.email == email)):
            form.email.errors.append("That email address is already registered. Try logging in.")
        else:
            member = Member(
                email=email,
                display_name=form.display_name.data.strip(),
                neighbourhood=form.neighbourhood.data.strip(),
                status=MemberStatus.PENDING.value,
            )
            member.set_password(form.password.data)
            db.session.add(member)
            db.session.flush()
            audit(member.id, "member.register", "member", member.id)
            db.session.commit()
            flash(
                "Thank you for joining. A coordinator will check your details and "
                "approve your membership; you can log in once they have.",
                "success",
            )
            return redirect(url_for("main.index"))
    return render_form("auth/register.html", form)


def _login_rate() -> str:
    return current_app.config["TIMEBANK_LOGIN_RATE"]


def _email_rate() -> str:
    return current_app.config["TIMEBANK_LOGIN_RATE_PER_EMAIL"]


def _email_key() -> str:
    # Guessing one member's password from many addresses is limited too.
    return "login-email:" + Member.normalise_email(request.form.get("email", ""))[:254]


# Spent on unknown addresses so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = None


def _dummy_check(password: str) -> None:
    global _DUMMY_HASH
    from werkzeug.security import check_password_hash, generate_password_hash

    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash("not-a-real-password")
    check_password_hash(_DUMMY_HASH, password)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
@limiter.limit(_email_rate, methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = Member.normalise_email(form.email.data)
        member = db.session.scalar(select(Member).where(Member.email == email))
        if member is None:
            _dummy_check(form.password.data)
        if member is None or not member.check_password(form.password.data):
            form.password.errors.append("That email address and password do not match.")
        elif member.status == MemberStatus.PENDING.value:
            form.email.errors.append(
                "Your membership is waiting for a coordinator's approval. "
                "You can log in once it is approved."
            )
        elif member.status == MemberStatus.SUSPENDED.value:
            form.email.errors.append(
                "Your membership is suspended. Please contact a coordinator."
            )
        else:
            login_user(member)
            flash(f"Welcome, {member.display_name}.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_form("auth/login.html", form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You have logged out.", "info")
    return redirect(url_for("main.index"))
