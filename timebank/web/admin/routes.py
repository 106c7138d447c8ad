"""Admin pages: members' roles, the two taxonomies, the audit trail and the scheduled
jobs' last results."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core import audit, checks, operations
from timebank.core import taxonomy as taxa
from timebank.core.members import service as members
from timebank.core.models import Category, Member
from timebank.core.models.audit import record
from timebank.core.models.checks import CHECK_WORDS, CheckKind
from timebank.infra.exports import csv_chunks, csv_response
from timebank.infra.extensions import db
from timebank.web.admin.forms import (
    OTHER_LANGUAGES,
    AssetCategoryForm,
    AuditFilterForm,
    CategoryForm,
    NamesForm,
)
from timebank.web.forms import ActionForm, button_pressed, place
from timebank.web.htmx import render
from timebank.web.members.forms import RoleForm
from timebank.web.permissions import allow
from timebank.web.routing import arg_id
from timebank.web.tenancy import BankBlueprint, current_bank_id

# Each taxonomy's form (the rules are core/taxonomy.py's).
FORMS = {"categories": CategoryForm, "asset-categories": AssetCategoryForm}

bp = BankBlueprint("admin", __name__)


@bp.route("/admin/members/<int:member_id>/role", methods=["POST"])
@allow("admin.roles")
def set_role(member_id: int):
    member = db.get_or_404(Member, member_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, _("Choose one of the listed roles."))
    try:
        members.set_role(member, form.role.data, current_user, current_bank_id())
    except members.MemberError as error:
        abort(error.status, error.message)
    flash(_("%(name)s's role is now: %(role)s.", name=member.display_name,
            role=member.role_label_in(current_bank_id())), "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)


@bp.route("/admin/<any('categories','asset-categories'):kind>", methods=["GET", "POST"])
@allow("admin.taxonomy")
def taxonomy(kind: str):
    form = FORMS[kind]()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                taxa.add(kind, form.name.data, current_user,
                         colour=form.colour.data if hasattr(form, "colour") else "",
                         names=form.names())
            except taxa.TaxonomyError as error:
                place(form, error, "name")
            else:
                flash(_("Added “%(name)s”.", name=form.name.data.strip()), "success")
                return redirect(url_for("admin.taxonomy", kind=kind), 303)
        status = 422
    rows = taxa.items(kind)
    return render("admin/taxonomy.html", status=status, form=form, rows=rows, kind=kind,
                  names_forms={row.id: _names_form(row) for row in rows},
                  other_languages=OTHER_LANGUAGES, **_check_context())


def _check_context() -> dict:
    return {"check_kinds": [(str(k), str(w)) for k, w in CHECK_WORDS.items()],
            "requirements": checks.requirements(), "action_form": ActionForm()}


@bp.route("/admin/categories/<int:item_id>/checks", methods=["POST"])
@allow("admin.taxonomy")
def category_checks(item_id: int):
    """Which safeguarding checks a kind of help needs (none ticked: none)."""
    button_pressed()
    category = db.get_or_404(Category, item_id)
    chosen = request.form.getlist("checks")
    if any(kind not in set(CheckKind) for kind in chosen):
        abort(400, _("Choose among the listed checks."))
    checks.set_required(category.id, chosen, current_user)
    db.session.commit()
    flash(_("Saved the checks “%(name)s” needs.", name=category.name), "success")
    return redirect(url_for("admin.taxonomy", kind="categories"), 303)


def _names_form(row, formdata=None) -> NamesForm:
    """Each kind's own form of names, its fields' ids kept apart by the kind's id."""
    form = NamesForm(formdata=formdata, prefix=f"kind{row.id}")
    if formdata is None:
        for code, _language in OTHER_LANGUAGES:
            getattr(form, f"name_{code}").data = (row.names or {}).get(code, "")
    return form


@bp.route("/admin/<any('categories','asset-categories'):kind>/<int:item_id>/names",
          methods=["POST"])
@allow("admin.taxonomy")
def taxonomy_names(kind: str, item_id: int):
    """A kind's names in Welsh, Spanish (each language but English)."""
    model = taxa.TAXONOMIES[kind][0]
    row = db.get_or_404(model, item_id)
    form = _names_form(row, request.form)
    if form.validate_on_submit():
        item = taxa.set_names(kind, item_id, form.names(), current_user)
        flash(_("Saved the names of “%(name)s”.", name=item.name_en), "success")
        return redirect(url_for("admin.taxonomy", kind=kind), 303)
    rows = taxa.items(kind)
    forms = {r.id: _names_form(r) for r in rows}
    forms[row.id] = form
    return render("admin/taxonomy.html", status=422, form=FORMS[kind](
        formdata=None), rows=rows, kind=kind, names_forms=forms,
        other_languages=OTHER_LANGUAGES, **_check_context())


@bp.route("/admin/<any('categories','asset-categories'):kind>/<int:item_id>/<any(retire,restore):action>",
          methods=["POST"])
@allow("admin.taxonomy")
def taxonomy_state(kind: str, item_id: int, action: str):
    button_pressed()
    item = taxa.set_active(kind, item_id, action == "restore", current_user)
    flash(_("“%(name)s” is back in use.", name=item.name) if item.active
          else _("“%(name)s” is retired.", name=item.name), "success")
    return redirect(url_for("admin.taxonomy", kind=kind), 303)


def _audit_filters() -> tuple[AuditFilterForm, dict, int]:
    form = AuditFilterForm(request.args)
    form.object_type.choices = [("", _("Any")), *[(t, t) for t in audit.object_types()]]
    if request.args and not form.validate():
        return form, {}, 400
    return form, form.filters(), 200


@bp.route("/admin/audit")
@allow("admin.audit")
def audit_log():
    form, filters, status = _audit_filters()
    rows, next_before = audit.page(filters, arg_id("before")) if status == 200 else ([], None)
    # Links carry the validated filters only: nothing a visitor adds reaches url_for.
    filters_args = {k: str(v) for k, v in filters.items()}
    return render("admin/audit.html", form=form, rows=rows, next_before=next_before,
                  filters_args=filters_args, status=status)


@bp.route("/admin/audit.csv")
@allow("admin.audit")
def audit_csv():
    form, filters, status = _audit_filters()
    if status != 200:
        abort(400, _("Please check the filter."))
    # Downloading the trail is itself an export of personal data: it goes on the trail.
    record(current_user.id, "audit.export", "audit_event", None,
           filters={k: str(v) for k, v in filters.items()})
    db.session.commit()
    return csv_response(csv_chunks(audit.CSV_HEADER, audit.csv_rows(filters)), "audit.csv")


@bp.route("/admin/jobs")
@allow("admin.jobs")
def jobs():
    """What the job runner last did: mail, texts, reminders, the ledger check, backups."""
    return render("admin/jobs.html", runs=operations.job_runs())
