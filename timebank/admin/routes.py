from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from ..auth import admin_required
from ..extensions import db
from ..members.forms import RoleForm
from ..models import Member
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
