import re

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import Regexp

from ..auth import admin_required
from ..extensions import db
from ..forms import NAME_MAX, required
from ..htmx import render
from ..members.forms import ActionForm, RoleForm
from ..models import AssetCategory, Category, Member
from ..models.audit import record as audit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/members/<int:member_id>/role", methods=["POST"])
@admin_required
def set_role(member_id: int):
    member = db.get_or_404(Member, member_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, "Choose one of the listed roles.")
    if member.id == current_user.id:
        abort(400, "You cannot change your own role.")
    before = member.role
    member.role = form.role.data
    audit(current_user.id, "member.set_role", "member", member.id, before=before,
          after=member.role)
    db.session.commit()
    flash(f"{member.display_name} is now a {member.role_label.lower()}.", "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)


class CategoryForm(FlaskForm):
    name = StringField("Name of the kind of help", validators=required(NAME_MAX))


class AssetCategoryForm(FlaskForm):
    name = StringField("Name of the kind of asset", validators=required(NAME_MAX))
    colour = StringField("Map colour", default="#555555", validators=[
        Regexp(r"^#[0-9a-fA-F]{6}$", message="Choose a colour like #1a2b3c.")])


# The two taxonomies (kinds of help, kinds of asset) share one way of being edited:
# admins add names, and retire rather than delete, so old records keep their label.
TAXONOMIES = {
    "categories": (Category, CategoryForm, "category"),
    "asset-categories": (AssetCategory, AssetCategoryForm, "asset_category"),
}


@bp.route("/<any('categories','asset-categories'):kind>", methods=["GET", "POST"])
@admin_required
def taxonomy(kind: str):
    model, form_class, audit_type = TAXONOMIES[kind]
    form = form_class()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            name = form.name.data.strip()
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or audit_type
            taken = db.session.scalar(select(model.id).where(
                (model.slug == slug) | (model.name == name)))
            if taken:
                form.name.errors.append("There is already one with that name.")
            else:
                item = model(slug=slug, name=name)
                if model is AssetCategory:
                    item.colour = form.colour.data.lower()
                    item.position = (db.session.scalar(select(func.max(model.position))) or 0) + 1
                db.session.add(item)
                db.session.flush()
                audit(current_user.id, f"{audit_type}.create", audit_type, item.id, name=name)
                db.session.commit()
                flash(f"Added “{name}”.", "success")
                return redirect(url_for("admin.taxonomy", kind=kind), 303)
        status = 422
    order = model.position if model is AssetCategory else model.name
    rows = db.session.scalars(select(model).order_by(order)).all()
    return render("admin/taxonomy.html", status=status, form=form, rows=rows, kind=kind)


@bp.route("/<any('categories','asset-categories'):kind>/<int:item_id>/<any(retire,restore):action>",
          methods=["POST"])
@admin_required
def taxonomy_state(kind: str, item_id: int, action: str):
    model, _form, audit_type = TAXONOMIES[kind]
    item = db.get_or_404(model, item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    item.active = action == "restore"
    audit(current_user.id, f"{audit_type}.{action}", audit_type, item.id)
    db.session.commit()
    flash(f"“{item.name}” is {'back in use' if item.active else 'retired'}.", "success")
    return redirect(url_for("admin.taxonomy", kind=kind), 303)
