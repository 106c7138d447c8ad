"""Offers and requests: browse, post, edit, renew and close."""


from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from timebank.core import listings as service
from timebank.core import queue
from timebank.core.matching.brokering import suggestions_for
from timebank.core.members.lookup import MemberNotFound, refuse, resolve_member
from timebank.core.models import Listing, ListingStatus
from timebank.infra import clock, geo
from timebank.infra.extensions import db
from timebank.web.forms import ActionForm, category_choices, fields_key, like_pattern
from timebank.web.htmx import render, render_form
from timebank.web.i18n import format_day
from timebank.web.listings.forms import BrowseForm, ListingForm, OnBehalfListingForm
from timebank.web.matching.forms import RespondForm
from timebank.web.permissions import allow
from timebank.web.routing import arg_id
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("listings", __name__)
PAGE = 20



@bp.route("/listings")
@allow("listings.read")
def browse():
    form = BrowseForm(request.args)
    form.category.choices = category_choices()
    status = 200
    listings, next_before = [], None
    me = current_user
    if not form.validate():
        status = 422
    else:
        query = (queue.expiring_listings(current_bank_id(), clock.today()).order_by(None)
                 if form.expiring.data  # the coordinators' work queue: ending within a week
                 else service.open_listings_query(current_bank_id()))
        if form.kind.data:
            query = query.where(Listing.kind == form.kind.data)
        if form.category.data:
            query = query.where(Listing.category_id == form.category.data)
        if form.q.data:
            like = like_pattern(form.q.data.strip())
            query = query.where(or_(Listing.title.ilike(like, escape="\\"),
                                    Listing.description.ilike(like, escape="\\")))
        within = form.within_km.data
        if within:
            if me.public_latitude is None:
                form.within_km.errors.append(
                    _("Add your postcode or street on your profile to search by distance."))
                status = 422
            else:
                lo_lat, lo_lon, hi_lat, hi_lon = geo.bbox_around(
                    me.public_latitude, me.public_longitude, within)
                query = query.where(Listing.latitude.between(lo_lat, hi_lat),
                                    Listing.longitude.between(lo_lon, hi_lon))
        before = arg_id("before")
        if before:
            query = query.where(Listing.id < before)
        if status == 200:
            rows = db.session.scalars(query.order_by(Listing.id.desc()).limit(PAGE + 1)).all()
            next_before = rows[PAGE - 1].id if len(rows) > PAGE else None
            listings = rows[:PAGE]
            if within:
                listings = [row for row in listings if geo.haversine_km(
                    me.public_latitude, me.public_longitude, row.latitude, row.longitude
                ) <= within]
    args = {k: v for k, v in request.args.items()
            if k in ("kind", "category", "q", "within_km", "expiring") and v}
    return render("listings/browse.html", partial="listings/_results.html", status=status,
                  form=form, listings=listings, next_before=next_before, args=args,
                  filters_key=fields_key("listings filters", form))


@bp.route("/listings/mine")
@allow("listings.write")
def mine():
    listings = db.session.scalars(
        select(Listing).where(Listing.member_id == current_user.id,
                              Listing.bank_id == current_bank_id())
        .order_by(Listing.status, Listing.id.desc()).limit(200)
    ).all()
    return render("listings/mine.html", listings=listings, action_form=ActionForm())


def _form_class():
    return OnBehalfListingForm if current_user.is_staff else ListingForm


@bp.route("/listings/new", methods=["GET", "POST"])
@allow("listings.write")
def new():
    form = _form_class()()
    form.category.choices = category_choices()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in (
            "offer", "request") else "offer"
        form.expires_on.data = service.default_expiry()
        if isinstance(form, OnBehalfListingForm):  # from the member's page
            form.member.data = request.args.get("member", "")[:254]
    if form.validate_on_submit():
        owner = current_user._get_current_object()
        if isinstance(form, OnBehalfListingForm):
            try:
                owner = resolve_member(form.member.data, current_bank_id())[0]
            except MemberNotFound as error:
                refuse(form.member, error)
                owner = None
        if owner is not None:
            listing = service.create(owner, form.values(), current_user, current_bank_id())
            until = format_day(listing.expires_on, "long")
            flash(_("Your offer is listed until %(date)s.", date=until)
                  if listing.kind == "offer"
                  else _("Your request is listed until %(date)s.", date=until), "success")
            return redirect(url_for("listings.show", listing_id=listing.id), 303)
    return render_form("listings/form.html", form, listing=None)


def _editable(listing_id: int) -> Listing:
    listing = db.get_or_404(Listing, listing_id)
    if not service.may_edit(listing, current_user, current_bank_id()):
        abort(404)  # nobody else's listing to change (as for any object not theirs)
    return listing


@bp.route("/listings/<int:listing_id>")
@allow("listings.read")
def show(listing_id: int):
    listing = db.get_or_404(Listing, listing_id)
    if not service.visible_to(listing, current_user, current_bank_id()):
        abort(404)
    suggestions = []
    if listing.member_id == current_user.id and listing.status == ListingStatus.OPEN:
        suggestions = suggestions_for(listing)
    answerable = (listing.member_id != current_user.id and listing.status == ListingStatus.OPEN
                  and listing.expires_on >= clock.today())
    return render("listings/show.html", listing=listing, suggestions=suggestions,
                  action_form=ActionForm(), respond_form=RespondForm() if answerable else None)


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@allow("listings.write")
def edit(listing_id: int):
    listing = _editable(listing_id)
    form = ListingForm(obj=listing if request.method == "GET" else None)
    form.category.choices = category_choices()
    if request.method == "GET":
        form.category.data = listing.category_id
        form.set_mask(listing.availability)
    if form.validate_on_submit():
        service.update(listing, form.values(), current_user)
        flash(_("Saved."), "success")
        return redirect(url_for("listings.show", listing_id=listing.id), 303)
    return render_form("listings/form.html", form, listing=listing)


@bp.route("/listings/<int:listing_id>/<any(renew,close,reopen):action>", methods=["POST"])
@allow("listings.write")
def change(listing_id: int, action: str):
    listing = _editable(listing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    service.change(listing, action, current_user)
    flash({"renew": _("Renewed until %(date)s.", date=format_day(listing.expires_on, "long")),
           "close": _("Closed. It no longer shows to others."),
           "reopen": _("Open again.")}[action], "success")
    return redirect(url_for("listings.show", listing_id=listing.id), 303)
