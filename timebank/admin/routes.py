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
    member = db.session.get(Member, member_id)
    if member is None:
        abort(404)
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


@bp.route("/categories", methods=["GET", "POST"])
@admin_required
def categories():
    form = CategoryForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            name = form.name.data.strip()
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "category"
            taken = db.session.scalar(select(Category.id).where(
                (Category.slug == slug) | (Category.name == name)))
            if taken:
                form.name.errors.append("There is already a category with that name.")
            else:
                category = Category(slug=slug, name=name)
                db.session.add(category)
                db.session.flush()
                audit(current_user.id, "category.create", "category", category.id, name=name)
                db.session.commit()
                flash(f"Added “{name}”.", "success")
                return redirect(url_for("admin.categories"), 303)
        status = 422
    rows = db.session.scalars(select(Category).order_by(Category.name)).all()
    return render("admin/categories.html", status=status, form=form, rows=rows,
                  action_form=ActionForm())


@bp.route("/categories/<int:category_id>/<any(retire,restore):action>", methods=["POST"])
@admin_required
def category_state(category_id: int, action: str):
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    # Categories are retired, never deleted: old exchanges and listings keep their name.
    category.active = action == "restore"
    audit(current_user.id, f"category.{action}", "category", category.id)
    db.session.commit()
    flash(f"“{category.name}” is {'back in use' if category.active else 'retired'}.", "success")
    return redirect(url_for("admin.categories"), 303)


class AssetCategoryForm(FlaskForm):
    name = StringField("Name of the kind of asset", validators=required(NAME_MAX))
    colour = StringField("Map colour", default="#555555", validators=[
        Regexp(r"^#[0-9a-fA-F]{6}$", message="Choose a colour like #1a2b3c.")])


@bp.route("/asset-categories", methods=["GET", "POST"])
@admin_required
def asset_categories():
    form = AssetCategoryForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            name = form.name.data.strip()
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "asset"
            taken = db.session.scalar(select(AssetCategory.id).where(
                (AssetCategory.slug == slug) | (AssetCategory.name == name)))
            if taken:
                form.name.errors.append("There is already a kind of asset with that name.")
            else:
                position = (db.session.scalar(select(func.max(AssetCategory.position))) or 0) + 1
                category = AssetCategory(slug=slug, name=name, colour=form.colour.data.lower(),
                                         position=position)
                db.session.add(category)
                db.session.flush()
                audit(current_user.id, "asset_category.create", "asset_category", category.id)
                db.session.commit()
                flash(f"Added “{name}”.", "success")
                return redirect(url_for("admin.asset_categories"), 303)
        status = 422
    rows = db.session.scalars(select(AssetCategory).order_by(AssetCategory.position)).all()
    return render("admin/asset_categories.html", status=status, form=form, rows=rows)


@bp.route("/asset-categories/<int:category_id>/<any(retire,restore):action>",
          methods=["POST"])
@admin_required
def asset_category_state(category_id: int, action: str):
    category = db.session.get(AssetCategory, category_id)
    if category is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    category.active = action == "restore"
    audit(current_user.id, f"asset_category.{action}", "asset_category", category.id)
    db.session.commit()
    flash(f"“{category.name}” is {'back in use' if category.active else 'retired'}.", "success")
    return redirect(url_for("admin.asset_categories"), 303)
