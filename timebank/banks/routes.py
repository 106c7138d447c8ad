"""Bank pages: admins create banks and set them up; coordinators keep the contact details."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..htmx import render, render_form
from ..models import Bank
from ..permissions import allow
from ..tenancy import BankBlueprint, current_bank
from . import service
from .forms import BankSettingsForm, ContactForm, NewBankForm

bp = BankBlueprint("banks", __name__)


@bp.route("/admin/banks", methods=["GET", "POST"])
@allow("admin.banks")
def index():
    form = NewBankForm()
    if form.validate_on_submit():
        try:
            bank = service.create_bank(form.slug.data, form.name.data, current_user)
        except service.BankError as error:
            getattr(form, error.field or "slug").errors.append(error.message)
        else:
            db.session.commit()
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
        limit = the_bank.clearing_limit
        form.clearing_limit_hours.data = None if limit is None else limit // 60
    if form.validate_on_submit():
        service.update(the_bank, form.values(), current_user,
                       fields=service.CONTACT_FIELDS + service.SETTINGS_FIELDS)
        flash(_("Saved."), "success")
        return redirect(url_for("banks.settings", bank_id=the_bank.id), 303)
    return render_form("banks/settings.html", form, the_bank=the_bank)


@bp.route("/coordinator/bank", methods=["GET", "POST"])
@allow("bank.contact")
def contact():
    the_bank = current_bank()
    if the_bank is None:
        abort(404)
    form = ContactForm(obj=the_bank if request.method == "GET" else None)
    if form.validate_on_submit():
        service.update(the_bank, form.data, current_user)
        flash(_("The bank's contact details are saved."), "success")
        return redirect(url_for("banks.contact"), 303)
    return render_form("banks/contact.html", form, the_bank=the_bank)


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
