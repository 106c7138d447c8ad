"""Offers and requests: browse, post, edit, renew and close."""


from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core import checks
from timebank.core import listings as service
from timebank.core.matching.brokering import suggestions_for
from timebank.core.members.lookup import MemberNotFound, refuse, resolve_member
from timebank.core.models import Listing, ListingKind, ListingStatus
from timebank.infra import clock
from timebank.infra.extensions import db
from timebank.web.forms import ActionForm, button_pressed, category_choices, place
from timebank.web.htmx import render, render_form
from timebank.web.i18n import format_day
from timebank.web.listings.forms import BrowseForm, ListingForm, OnBehalfListingForm
from timebank.web.matching.forms import RespondForm
from timebank.web.permissions import allow, may
from timebank.web.routing import arg_id
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("listings", __name__)



@bp.route("/listings")
@allow("listings.read")
def browse():
    form = BrowseForm(request.args)
    form.category.choices = category_choices()
    status, listings, next_before = 200, [], None
    if not form.validate():
        status = 422
    else:
        try:
            listings, next_before = service.browse(
                current_bank_id(), current_user, clock.today(), kind=form.kind.data or "",
                category_id=form.category.data or None, words=form.q.data or "",
                within_km=form.within_km.data, expiring=bool(form.expiring.data),
                before=arg_id("before"))
        except service.ListingRefused as error:
            place(form, error)
            status = 422
    args = {k: v for k, v in request.args.items()
            if k in ("kind", "category", "q", "within_km", "expiring") and v}
    return render("listings/browse.html", partial="listings/_results.html", status=status,
                  form=form, listings=listings, next_before=next_before, args=args)


@bp.route("/listings/mine")
@allow("listings.write")
def mine():
    return render("listings/mine.html", listings=service.mine(current_user, current_bank_id()),
                  action_form=ActionForm())


def _form_class():
    return OnBehalfListingForm if may("members.manage") else ListingForm


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
    # Help of a kind that needs checks: say which the would-be helper lacks, and whom
    # to ask, instead of a button that would be refused.
    helper_id = current_user.id if listing.kind == ListingKind.REQUEST else listing.member_id
    lacking = (checks.missing_for([helper_id], listing.category_id, clock.today())
               .get(helper_id) if answerable else None)
    return render("listings/show.html", listing=listing, suggestions=suggestions,
                  action_form=ActionForm(),
                  respond_form=RespondForm() if answerable and not lacking else None,
                  lacking=lacking, whom=checks.whom_to_ask(listing.bank_id) if lacking else "")


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
    button_pressed()
    service.change(listing, action, current_user)
    flash({"renew": _("Renewed until %(date)s.", date=format_day(listing.expires_on, "long")),
           "close": _("Closed. It no longer shows to others."),
           "reopen": _("Open again.")}[action], "success")
    return redirect(url_for("listings.show", listing_id=listing.id), 303)
