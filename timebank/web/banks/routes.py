"""Bank pages: admins create banks and set them up; coordinators keep the contact details."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core import banks as service
from timebank.core import four_eyes
from timebank.core.models import ApprovalKind, Bank
from timebank.core.texts import outbox
from timebank.infra import clock
from timebank.infra.extensions import db
from timebank.web.banks.forms import (
    AddMemberForm,
    BankSettingsForm,
    ContactForm,
    JoinForm,
    NewBankForm,
)
from timebank.web.forms import place
from timebank.web.htmx import render, render_form
from timebank.web.permissions import allow
from timebank.web.tenancy import BankBlueprint, current_bank, know_bank_count

bp = BankBlueprint("banks", __name__)


@bp.route("/admin/banks", methods=["GET", "POST"])
@allow("admin.banks")
def index():
    form = NewBankForm()
    if form.validate_on_submit():
        try:
            bank = service.create_bank(form.slug.data, form.name.data, current_user)
        except service.BankError as error:
            place(form, error, "slug")
        else:
            db.session.commit()
            know_bank_count(None)  # (read with the admin, before the bank was made)
            flash(_("Created %(bank)s. Now add its contact details and coordinators.",
                    bank=bank.name), "success")
            return redirect(url_for("banks.settings", bank_id=bank.id), 303)
    return render_form("banks/index.html", form, banks=service.all_banks())


@bp.route("/admin/banks/<int:bank_id>", methods=["GET", "POST"])
@allow("admin.banks")
def settings(bank_id: int):
    the_bank = db.get_or_404(Bank, bank_id)
    form = BankSettingsForm(obj=the_bank if request.method == "GET" else None)
    if request.method == "GET":
        form.floor_hours.data = the_bank.default_floor // 60
        form.pool_floor_hours.data = the_bank.pool_floor // 60
        form.pool_cap_hours.data = the_bank.pool_cap // 60
        form.pool_alone_hours.data = the_bank.pool_alone_minutes // 60
        limit = the_bank.clearing_limit
        form.clearing_limit_hours.data = None if limit is None else limit // 60
    if form.validate_on_submit():
        values = form.values()
        looser = service.loosened(the_bank, values)
        for name in looser:
            values.pop(name)  # waits for a second person
        service.update(the_bank, values, current_user,
                       fields=service.CONTACT_FIELDS + service.SETTINGS_FIELDS)
        if looser:
            four_eyes.ask(ApprovalKind.BANK, the_bank.id, current_user, **looser)
            db.session.commit()
            flash(_("Looser limits wait for a second coordinator or admin to agree: they "
                    "have been asked."), "info")
        flash(_("Saved."), "success")
        return redirect(url_for("banks.settings", bank_id=the_bank.id), 303)
    return render_form("banks/settings.html", form, the_bank=the_bank,
                       add_form=AddMemberForm(formdata=None),
                       coordinators=service.coordinators_of(the_bank))


@bp.route("/admin/banks/<int:bank_id>/members", methods=["POST"])
@allow("admin.banks")
def add_member(bank_id: int):
    """Make an existing person a resident or coordinator of this bank."""
    the_bank = db.get_or_404(Bank, bank_id)
    add_form = AddMemberForm()
    if add_form.validate_on_submit():
        try:
            membership = service.add_member(current_user, the_bank, add_form.email.data,
                                            add_form.role.data)
        except service.BankError as error:
            place(add_form, error, "email")
        else:
            name = membership.member.display_name
            flash(_("%(name)s is now a coordinator of %(bank)s.", name=name, bank=the_bank.name)
                  if membership.role == "coordinator" else
                  _("%(name)s is now a member of %(bank)s.", name=name, bank=the_bank.name),
                  "success")
            return redirect(url_for("banks.settings", bank_id=the_bank.id), 303)
    form = BankSettingsForm(obj=the_bank)
    form.floor_hours.data = the_bank.default_floor // 60
    return render("banks/settings.html", status=422, form=form, the_bank=the_bank,
                  add_form=add_form, coordinators=service.coordinators_of(the_bank))


@bp.route("/coordinator/bank", methods=["GET", "POST"])
@allow("bank.contact")
def contact():
    the_bank = current_bank()
    if the_bank is None:
        abort(404)
    form = ContactForm(obj=the_bank if request.method == "GET" else None)
    if form.validate_on_submit():
        service.update(the_bank, form.data, current_user,
                       fields=service.CONTACT_FIELDS + service.REGISTER_FIELDS)
        flash(_("The bank's contact details are saved."), "success")
        return redirect(url_for("banks.contact"), 303)
    return render_form("banks/contact.html", form, the_bank=the_bank,
                       texts=outbox.month_figures(the_bank.id, clock.utcnow()))


@bp.route("/terms")
@allow("site.read")
def terms():
    return render("banks/terms.html", text=(current_bank().terms_text if current_bank() else ""),
                  kind="terms")


@bp.route("/privacy")
@allow("site.read")
def privacy():
    return render("banks/terms.html", kind="privacy",
                  text=(current_bank().privacy_text if current_bank() else ""))


@bp.route("/join-bank", methods=["GET", "POST"])
@allow("bank.join")
def join():
    """One click from a bank's page: ask to join it, with an optional message."""
    the_bank = current_bank()
    if the_bank is None:
        abort(404)
    form = JoinForm()
    membership = current_user.membership_in(the_bank.id)
    if form.validate_on_submit():
        try:
            service.ask_to_join(current_user, the_bank, form.message.data)
        except service.BankError as error:
            place(form, error)
        else:
            flash(_("Thank you: the coordinators of %(bank)s will look at your request and "
                    "you will be told their answer.", bank=the_bank.name), "success")
            return redirect(url_for("main.index"), 303)
    return render_form("banks/join.html", form, the_bank=the_bank, membership=membership)
