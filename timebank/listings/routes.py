from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from .. import brokering, geo, matching
from ..auth import trader_required
from ..exchanges.views import LookupError_, category_choices, resolve_member
from ..extensions import db
from ..forms import like_pattern
from ..htmx import render, render_form
from ..members.forms import ActionForm
from ..models import Listing, ListingStatus, Member
from ..models.audit import record as audit
from ..routing import arg_id
from .forms import BrowseForm, ListingForm, OnBehalfListingForm

bp = Blueprint("listings", __name__)
PAGE = 20



@bp.route("/listings")
@trader_required
def browse():
    form = BrowseForm(request.args)
    form.category.choices = category_choices()
    status = 200
    listings, next_before = [], None
    me = current_user
    if not form.validate():
        status = 422
    else:
        query = brokering.open_listings_query()
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
                    "Add your postcode or street on your profile to search by distance.")
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
            if k in ("kind", "category", "q", "within_km") and v}
    return render("listings/browse.html", partial="listings/_results.html", status=status,
                  form=form, listings=listings, next_before=next_before, args=args)


@bp.route("/listings/mine")
@trader_required
def mine():
    listings = db.session.scalars(
        select(Listing).where(Listing.member_id == current_user.id)
        .order_by(Listing.status, Listing.id.desc()).limit(200)
    ).all()
    return render("listings/mine.html", listings=listings, action_form=ActionForm())


def _form_class():
    return OnBehalfListingForm if current_user.is_staff else ListingForm


def _fill(listing: Listing, form: ListingForm, owner: Member) -> None:
    listing.kind = form.kind.data
    listing.category_id = form.category.data
    listing.title = form.title.data.strip()
    listing.description = (form.description.data or "").strip()
    listing.availability = form.availability_mask
    listing.travel_km = form.travel_km.data
    listing.remote_ok = bool(form.remote_ok.data)
    listing.expires_on = form.expires_on.data
    listing.latitude, listing.longitude = owner.public_latitude, owner.public_longitude


@bp.route("/listings/new", methods=["GET", "POST"])
@trader_required
def new():
    form = _form_class()()
    form.category.choices = category_choices()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in (
            "offer", "request") else "offer"
        form.expires_on.data = brokering.default_expiry()
    if form.validate_on_submit():
        owner = current_user._get_current_object()
        if isinstance(form, OnBehalfListingForm):
            try:
                owner = resolve_member(form.member.data)
            except LookupError_ as error:
                form.member.errors.append(str(error))
                owner = None
        if owner is not None:
            listing = Listing(member_id=owner.id, created_by_id=current_user.id)
            _fill(listing, form, owner)
            db.session.add(listing)
            db.session.flush()
            audit(current_user.id, "listing.create", "listing", listing.id,
                  on_behalf=owner.id != current_user.id)
            db.session.commit()
            flash(f"Your {listing.kind} is listed until "
                  f"{listing.expires_on.strftime('%-d %B %Y')}.", "success")
            return redirect(url_for("listings.show", listing_id=listing.id), 303)
    return render_form("listings/form.html", form, listing=None)


def _listing_or_404(listing_id: int) -> Listing:
    listing = db.get_or_404(Listing, listing_id)
    return listing


def _editable(listing_id: int) -> Listing:
    listing = _listing_or_404(listing_id)
    if listing.member_id != current_user.id and not current_user.is_staff:
        abort(403, "You can only change your own offers and requests.")
    return listing


@bp.route("/listings/<int:listing_id>")
@trader_required
def show(listing_id: int):
    listing = _listing_or_404(listing_id)
    mine = listing.member_id == current_user.id or current_user.is_staff
    if not mine and (listing.status != ListingStatus.OPEN.value
                     or listing.expires_on < date.today()):
        abort(404)
    suggestions = []
    if listing.member_id == current_user.id and listing.status == ListingStatus.OPEN.value:
        suggestions = suggestions_for(listing)
    return render("listings/show.html", listing=listing, suggestions=suggestions,
                  action_form=ActionForm())


def suggestions_for(listing: Listing, limit: int = 5):
    """What a member sees on their own listing: who might help, or whom they might help."""
    if listing.kind == "request":
        ranked = matching.rank(brokering.need_for(listing), brokering.load_candidates(), limit)
        for r in ranked:  # others' give-and-take is for coordinators' eyes only
            r.reasons = [why for why in r.reasons if "given" not in why]
        members = {m.id: m for m in db.session.scalars(
            select(Member).where(Member.id.in_([r.candidate.member_id for r in ranked])))}
        return [(members[r.candidate.member_id], r) for r in ranked]
    requests = db.session.scalars(
        brokering.open_listings_query().where(Listing.kind == "request",
                                              Listing.category_id == listing.category_id,
                                              Listing.member_id != listing.member_id)
        .order_by(Listing.id.desc()).limit(limit)
    ).all()
    return [(r.member, r) for r in requests]


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@trader_required
def edit(listing_id: int):
    listing = _editable(listing_id)
    form = ListingForm(obj=listing if request.method == "GET" else None)
    form.category.choices = category_choices()
    if request.method == "GET":
        form.category.data = listing.category_id
        form.set_mask(listing.availability)
    if form.validate_on_submit():
        _fill(listing, form, listing.member)
        audit(current_user.id, "listing.update", "listing", listing.id)
        db.session.commit()
        flash("Saved.", "success")
        return redirect(url_for("listings.show", listing_id=listing.id), 303)
    return render_form("listings/form.html", form, listing=listing)


@bp.route("/listings/<int:listing_id>/<any(renew,close,reopen):action>", methods=["POST"])
@trader_required
def change(listing_id: int, action: str):
    listing = _editable(listing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if action == "renew":
        listing.expires_on = brokering.default_expiry()
        listing.status = ListingStatus.OPEN.value
        flash(f"Renewed until {listing.expires_on.strftime('%-d %B %Y')}.", "success")
    elif action == "close":
        listing.status = ListingStatus.CLOSED.value
        flash("Closed. It no longer shows to others.", "success")
    else:
        listing.status = ListingStatus.OPEN.value
        flash("Open again.", "success")
    audit(current_user.id, f"listing.{action}", "listing", listing.id)
    db.session.commit()
    return redirect(url_for("listings.show", listing_id=listing.id), 303)
