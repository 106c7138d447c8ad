"""Ideas pages: the ranked list and "you said, we did" (public), proposing, revising,
supporting, rating, commenting and answering. Area-wide: no bank in the address."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import escape

from timebank.core import ideas as service
from timebank.core.models import Asset, AssetCategory, Event, Neighbourhood
from timebank.core.models.ideas import CRITERIA, STATUS_WORDS, Idea, IdeaRole
from timebank.infra import maps
from timebank.infra.extensions import db
from timebank.web.forms import ActionForm, button_pressed, category_choices, place
from timebank.web.htmx import render, render_form, wants_fragment
from timebank.web.ideas.forms import (
    AnswerForm,
    CommentForm,
    IdeaFilterForm,
    IdeaForm,
    RatingForm,
    RoleForm,
    SessionForm,
    offer_choices,
)
from timebank.web.permissions import allow, may
from timebank.web.tenancy import bank_url, current_bank_id

bp = Blueprint("ideas", __name__)


def _lists():
    return service.kinds_and_areas()


def _filters():
    form = IdeaFilterForm(request.args)
    categories, areas = _lists()
    offer_choices(form, categories, areas, _("All"))
    form.status.choices = [("", _("Any status")), *[(k.value, str(v))
                                                    for k, v in STATUS_WORDS.items()]]
    if not form.validate():
        return form, None
    return form, {"status": form.status.data or "", "neighbourhood_id": form.neighbourhood.data,
                  "category_id": form.category.data}


@bp.route("/ideas")
@allow("ideas.read")
def index():
    form, filters = _filters()
    ideas = service.ranked(**filters) if filters is not None else []
    return render("ideas/index.html", partial="ideas/_list.html", form=form, ideas=ideas,
                  status=200 if filters is not None else 422)


@bp.route("/ideas/answers")
@allow("ideas.read")
def answers():
    """You said, we did: every idea that has been answered, with its answer."""
    form, filters = _filters()
    ideas = service.ranked(**filters, answered=True) if filters is not None else []
    return render("ideas/answers.html", partial="ideas/_list.html", form=form, ideas=ideas,
                  answered=True, parts=_ideas_map([i for i, _m in ideas]),
                  status=200 if filters is not None else 422)


def _ideas_map(ideas: list[Idea]):
    """The answered ideas that have a place, as dots on the map (None if none has)."""
    spots = service.places(ideas)
    if not spots:
        return None
    features = [{"type": "Feature",
                 "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                 # Escaped here: folium writes popup fields into the page as HTML.
                 "properties": {"label": escape(f"{idea.title} ({idea.status_word})")}}
                for idea, lat, lon in spots]
    lats, lons = [lat for _i, lat, _o in spots], [lon for _i, _a, lon in spots]
    fit = ((min(lats), min(lons)), (max(lats), max(lons))) if len(spots) > 1 else None
    return maps.site_map((sum(lats) / len(lats), sum(lons) / len(lons)), fit=fit,
                         points={"type": "FeatureCollection", "features": features})


def _idea(idea_id: int) -> Idea:
    idea = db.session.get(Idea, idea_id)
    if idea is None:
        abort(404)
    return idea


def _role_form(form: RoleForm | None = None) -> RoleForm:
    form = form or RoleForm()
    form.category.choices = category_choices()
    return form


def _show(idea: Idea, status: int = 200, **forms):
    revisions, answers_, comments = service.history(idea)
    may_rate = may("ideas.support")
    rating = service.rating_of(idea, current_user) if may_rate else None
    ctx = {
        "idea": idea, "merit": service.merits([idea.id])[idea.id],
        "supported": service.supports(idea, current_user), "may_rate": may_rate,
        "may_comment": may("ideas.comment"),
        "may_answer": may("ideas.answer") and service.may_answer(current_user),
        "revisions": revisions, "answers": answers_, "comments": comments,
        "rating_form": forms.get("rating_form") or RatingForm(obj=rating),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "answer_form": forms.get("answer_form") or AnswerForm(status=idea.status),
        "action_form": ActionForm(), "criteria": CRITERIA, "status_words": STATUS_WORDS,
        # Each session in the bank running it (an idea is the whole area's).
        "sessions": [(e, bank_url("events.show", e.bank_id, event_id=e.id))
                     for e in service.sessions_about(idea)],
        "roles": [(role, n, service.volunteered(role, current_user))
                  for role, n in service.roles_of(idea)],
        "role_form": forms.get("role_form") or _role_form(),
        "may_schedule": may("ideas.sessions"),
        "asset": db.session.get(Asset, idea.asset_id) if idea.asset_id else None,
        "area": db.session.get(Neighbourhood, idea.neighbourhood_id)
        if idea.neighbourhood_id else None,
        "category": db.session.get(AssetCategory, idea.category_id)
        if idea.category_id else None,
    }
    return render("ideas/show.html", status=status, **ctx)


@bp.route("/ideas/<int:idea_id>")
@allow("ideas.read")
def show(idea_id: int):
    return _show(_idea(idea_id))


def _place_from_query(form: IdeaForm) -> None:
    """"Propose an idea here" from an asset's page or a coverage gap."""
    asset = db.session.get(Asset, request.args.get("asset", type=int) or 0)
    if asset is not None and asset.status == "published":
        form.asset_id.data = str(asset.id)
        form.category.data = asset.category_id
        # Where anyone may see it (a home: its ~500 m square), as the idea will show it.
        form.latitude.data, form.longitude.data = asset.public_point or (None, None)
    cell = (request.args.get("cell") or "")[:40]
    lat, lon = request.args.get("lat", type=float), request.args.get("lon", type=float)
    if cell and lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        form.gap_cell.data, form.latitude.data, form.longitude.data = cell, lat, lon
    if request.args.get("category", type=int):
        form.category.data = request.args.get("category", type=int)


def _values(form: IdeaForm) -> dict:
    raw = (form.asset_id.data or "").strip()
    asset = db.session.get(Asset, int(raw)) if raw.isascii() and raw.isdigit() \
        and len(raw) < 10 else None
    return {"title": form.title.data.strip(), "need": form.need.data.strip(),
            "builds_on": (form.builds_on.data or "").strip(),
            "takes": (form.takes.data or "").strip(),
            "category_id": form.category.data or None,
            "neighbourhood_id": form.neighbourhood.data or None,
            "asset_id": asset.id if asset is not None else None,
            "gap_cell": (form.gap_cell.data or "")[:40],
            "latitude": form.latitude.data, "longitude": form.longitude.data,
            "show_name": form.show_name.data}


@bp.route("/ideas/new", methods=["GET", "POST"])
@allow("ideas.propose")
def propose():
    form = IdeaForm()
    offer_choices(form, *_lists(), _("Not said"))
    if request.method == "GET":
        _place_from_query(form)
    if form.validate_on_submit():
        idea = service.propose(current_user, _values(form))
        flash(_("Thank you: your idea is on the list for neighbours to support."), "success")
        return redirect(url_for("ideas.show", idea_id=idea.id), 303)
    return render_form("ideas/form.html", form, idea=None)


@bp.route("/ideas/<int:idea_id>/edit", methods=["GET", "POST"])
@allow("ideas.propose")
def revise(idea_id: int):
    idea = _idea(idea_id)
    if not may("ideas.propose", idea):
        abort(404)  # nobody else's idea to change (as for any object not theirs)
    form = IdeaForm(obj=idea)
    offer_choices(form, *_lists(), _("Not said"))
    if form.validate_on_submit():
        service.revise(idea, current_user, _values(form))
        flash(_("Your idea is changed; what it said before is kept below it."), "success")
        return redirect(url_for("ideas.show", idea_id=idea.id), 303)
    return render_form("ideas/form.html", form, idea=idea)


def _after(idea: Idea, message: str):
    if wants_fragment():
        return _show(idea)
    flash(message, "success")
    return redirect(url_for("ideas.show", idea_id=idea.id), 303)


@bp.route("/ideas/<int:idea_id>/<any(support,withdraw):action>", methods=["POST"])
@allow("ideas.support")
def support(idea_id: int, action: str):
    idea = _idea(idea_id)
    button_pressed()
    if action == "support":
        service.support(idea, current_user)
    else:
        service.withdraw(idea, current_user)
    return _after(idea, _("Thank you for your support.") if action == "support"
                  else _("You no longer support this idea."))


@bp.route("/ideas/<int:idea_id>/rate", methods=["POST"])
@allow("ideas.support")
def rate(idea_id: int):
    idea = _idea(idea_id)
    form = RatingForm()
    if not form.validate_on_submit():
        return _show(idea, status=422, rating_form=form)
    service.rate(idea, current_user, {"benefits": form.benefits.data,
                                      "builds": form.builds.data,
                                      "together": form.together.data})
    return _after(idea, _("Thank you for rating this idea."))


@bp.route("/ideas/<int:idea_id>/comments", methods=["POST"])
@allow("ideas.comment")
def comment(idea_id: int):
    idea = _idea(idea_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return _show(idea, status=422, comment_form=form)
    service.comment(idea, current_user, form.body.data.strip())
    return _after(idea, _("Your comment is posted."))


@bp.route("/ideas/<int:idea_id>/answer", methods=["POST"])
@allow("ideas.answer")
def answer(idea_id: int):
    idea = _idea(idea_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _show(idea, status=422, answer_form=form)
    try:
        service.answer(idea, current_user, form.status.data, form.answer.data)
    except service.IdeaRefused as refused:
        place(form, refused, "answer")
        return _show(idea, status=422, answer_form=form)
    return _after(idea, _("The answer is published; the proposer and supporters are told."))


# -- co-design sessions: events of a kind, about ideas (web/events shows them) ----------


@bp.route("/ideas/<int:idea_id>/sessions/new", methods=["GET", "POST"])
@allow("ideas.sessions")
def schedule(idea_id: int):
    idea = _idea(idea_id)
    form = SessionForm()
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("title", "starts_at", "place")}
        values.update(accessibility=(form.accessibility.data or "").strip(),
                      helpers_wanted=form.seats.data, helper_minutes=form.minutes.data,
                      purpose=_("About the idea “%(title)s”.", title=idea.title))
        session = service.schedule(current_user, current_bank_id(), [idea.id], values)
        flash(_("The session is on the idea's page; members can sign up."), "success")
        return redirect(url_for("events.show", event_id=session.id), 303)
    return render_form("ideas/schedule.html", form, idea=idea)


@bp.route("/ideas/sessions/<int:session_id>")
@allow("ideas.read")
def session(session_id: int):
    """Where sessions were before they were events: links in old e-mails still work."""
    found = db.session.get(Event, session_id)
    if found is None:
        abort(404)
    return redirect(bank_url("events.show", found.bank_id, event_id=found.id), 301)


# -- co-delivery ------------------------------------------------------------------------


@bp.route("/ideas/<int:idea_id>/roles", methods=["POST"])
@allow("ideas.sessions")
def add_role(idea_id: int):
    idea = _idea(idea_id)
    form = _role_form()
    if not form.validate_on_submit():
        return _show(idea, status=422, role_form=form)
    try:
        service.add_role(idea, current_user, form.title.data.strip(), form.category.data,
                         form.people.data)
    except service.IdeaRefused as refused:
        place(form, refused, "title")
        return _show(idea, status=422, role_form=form)
    flash(_("The role is listed; members can volunteer for it."), "success")
    return redirect(url_for("ideas.show", idea_id=idea.id), 303)


@bp.route("/ideas/roles/<int:role_id>/volunteer", methods=["POST"])
@allow("ideas.support")
def volunteer(role_id: int):
    role = db.session.get(IdeaRole, role_id)
    if role is None:
        abort(404)
    button_pressed()
    try:
        offer = service.volunteer(role, current_user, current_bank_id())
    except service.IdeaRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for("ideas.show", idea_id=role.idea_id), 303)
    flash(_("Thank you: your offer to help is posted, linked to the idea."), "success")
    return redirect(url_for("listings.show", listing_id=offer.id), 303)
