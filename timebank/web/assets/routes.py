"""Community asset pages: the map and list, suggestions, moderation, reviews, gaps, exports."""

import math

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core.assets import files, hsds, imports, neighbourhoods, register, sources, upkeep
from timebank.core.errors import Refused
from timebank.core.models import (
    Asset,
    AssetChange,
    AssetImport,
    AssetStatus,
    BoundaryUpload,
    GeocodeState,
    Neighbourhood,
)
from timebank.core.models.names import reader_language
from timebank.infra import cache, clock, geo, maps
from timebank.infra.extensions import db
from timebank.web import caching
from timebank.web.assets.forms import (
    AssetForm,
    BoundaryForm,
    ClosedForm,
    ContactCheckForm,
    CoordinatorAssetForm,
    GapForm,
    MapFilterForm,
    RejectForm,
    ReviewForm,
    UploadForm,
)
from timebank.web.extensions import limiter
from timebank.web.forms import ActionForm, button_pressed, choices, place
from timebank.web.htmx import render, render_form
from timebank.web.permissions import allow, may
from timebank.web.routing import arg_id, replica_reads

bp = Blueprint("assets", __name__)
LIST_PAGE = 50


def category_filter_choices(blank: str):
    """The kind-of-asset filter: ``blank`` for all, then each category by slug."""
    return choices([("", blank), *[(c.slug, c.name) for c in register.categories()]])


FILTER_KEYS = ("category", "q", "open_to_all", "step_free")
MAP_COLUMNS = register.MAP_COLUMNS


def _map_parts(center=None, fit=None, gaps=None, gaps_key: tuple = ()) -> maps.MapParts:
    """The folium map, built once per register version and view (``gaps_key`` names the
    gap layer): folium compiles its templates on every build, a third of a map page."""
    assert gaps is None or gaps_key, "a gap layer needs the key it was built for"
    center = tuple(center or register.DEFAULT_CENTRE)
    config = current_app.config
    key = ("map parts", center, fit, gaps_key, maps.local_assets(),
           config["TIMEBANK_TILES_URL"], config["TIMEBANK_TILES_ATTRIBUTION"])
    return cache.built(cache.REGISTER, key,
                       lambda _version: maps.site_map(center, gaps=gaps, fit=fit),
                       lambda parts: 2 * (len(parts.html) + len(parts.script)) + 1024)


def _full_page_only():
    """Map pages run folium's script, which a boosted (AJAX) navigation would not: reload."""
    hx = getattr(request, "htmx", None)
    if hx and hx.boosted:
        response = Response(status=200)
        response.headers["HX-Redirect"] = request.full_path.rstrip("?")
        return response
    return None


def _map_filters() -> tuple[MapFilterForm, int]:
    form = MapFilterForm(request.args)
    form.category.choices = category_filter_choices("All kinds")
    return form, 200 if form.validate() else 422


def _filter_key(form: MapFilterForm) -> tuple[str, str, bool, bool]:
    return (form.category.data or "", (form.q.data or "").strip(), bool(form.open_to_all.data),
            bool(form.step_free.data))


def _view() -> tuple[tuple, int] | None:
    """The map view a big register's map asks for: ``bbox`` (west,south,east,north, as
    Leaflet writes it) and ``zoom``; None when it asks for the whole layer."""
    if "bbox" not in request.args and "zoom" not in request.args:
        return None
    try:
        west, south, east, north = (float(v) for v in request.args.get("bbox", "").split(","))
        zoom = int(request.args.get("zoom", ""))
    except ValueError:
        abort(400, _("A map view needs bbox=west,south,east,north and a zoom."))
    # Longitudes past ±180 are copies of the world a wide map shows beside it.
    if not (all(math.isfinite(v) for v in (west, south, east, north))
            and -540 <= west < east <= 540 and -90 <= south < north <= 90
            and 0 <= zoom <= register.MAX_ZOOM):
        abort(400, _("That is not a map view."))
    snapped = register.snap_view((west, south, east, north), zoom)
    if snapped is None:
        abort(400, _("That map view is too wide for its zoom."))
    return snapped, zoom


@bp.route("/assets/map.json")
@allow("assets.read")
@replica_reads
def map_data():
    """The map's layer for the map page's filters: compact GeoJSON (id, name, kind per
    asset), built once per version of the register and served with a validator; with a
    view (a big register), only what the view shows, grouped when it is a lot."""
    form, status = _map_filters()
    if status != 200:
        abort(400, _("Please check the filters."))
    key = _filter_key(form)
    view = _view()
    # Unchecked assets are flagged by the day: one body per day, language and filter.
    stale_before = _stale_before()
    if view is None:
        # The kinds' names in the layer are in the reader's language: one body per language.
        return caching.send(cache.body(
            cache.REGISTER, ("map", reader_language(), stale_before, *key),
            lambda: register.map_json(key, stale_before), "application/json"))
    return caching.send(cache.body(
        cache.REGISTER, ("view", reader_language(), stale_before, *key, *view),
        lambda: register.view_json(key, *view, stale_before), "application/json"))


def _stale_before():
    """Assets last checked before this (midnight, so it moves once a day) are flagged."""
    cutoff = register.stale_cutoff(clock.utcnow())
    return cutoff.replace(hour=0, minute=0, second=0, microsecond=0)


def _map_source(args: dict, key: tuple[str, str, bool, bool]) -> dict:
    """Where the map's asset layer comes from (``args``: its filters), and whether it asks
    by view: a register too big to send whole (TIMEBANK_MAP_VIEWPORT_FROM placed assets)."""
    placed = len(register.map_index(key).rows)
    return {"map_url": url_for("assets.map_data", **args),
            "map_viewport": placed > current_app.config["TIMEBANK_MAP_VIEWPORT_FROM"]}


@bp.route("/assets")
@allow("assets.read")
def index():
    if (reload := _full_page_only()) is not None:
        return reload
    form, status = _map_filters()
    cats = register.categories()
    rows = register.published_rows(*_filter_key(form)) if status == 200 else []
    start = arg_id("start") or 0
    listed = rows[start : start + LIST_PAGE]
    places = neighbourhoods.names_for([(a.latitude, a.longitude) if a.latitude is not None
                                       else (91.0, 0.0) for a in listed])
    args = {k: v for k, v in request.args.items() if k in FILTER_KEYS and v}
    ctx = dict(form=form, cats=cats, cat_names={c.id: c.name for c in cats}, rows=rows,
               stale_before=_stale_before(),
               listed=list(zip(listed, places, strict=True)), start=start, args=args,
               page_size=LIST_PAGE,
               **(_map_source(args, _filter_key(form)) if status == 200 else {}))
    hx = getattr(request, "htmx", None)
    if hx and not hx.boosted and hx.target == "asset-results":
        return render("assets/_results.html", status=status, **ctx)
    parts = _map_parts(fit=register.bounds(_filter_key(form)) if status == 200 else None)
    return render("assets/index.html", status=status, parts=parts, **ctx)



def _visible(asset_id: int) -> Asset:
    asset = db.get_or_404(Asset, asset_id)
    member = current_user if current_user.is_authenticated else None
    if not register.visible_to(asset, member):
        abort(404)
    return asset


def _show(asset: Asset, status: int = 200, review_form=None, closed_form=None):
    """The asset's page; a member may review it, or say it closed or moved."""
    can_review = may("assets.review") and asset.status == AssetStatus.PUBLISHED
    if can_review:
        review_form = review_form or ReviewForm()
        closed_form = closed_form or ClosedForm()
    return render("assets/show.html", status=status, asset=asset,
                  reviews=register.reviews_of(asset), review_form=review_form,
                  closed_form=closed_form if can_review else None,
                  stale=register.is_stale(asset, clock.utcnow()),
                  checked_by=register.checked_by(asset), action_form=ActionForm(),
                  contact_email=hsds.email(asset.email or ""))


@bp.route("/assets/<int:asset_id>")
@allow("assets.read")
def show(asset_id: int):
    return _show(_visible(asset_id))


@bp.route("/assets/<int:asset_id>/closed", methods=["POST"])
@allow("assets.review")
def closed(asset_id: int):
    """A member says it has closed or moved: a coordinator looks, and tells them."""
    asset = _visible(asset_id)
    if asset.status != AssetStatus.PUBLISHED:
        abort(404)
    form = ClosedForm()
    if not form.validate_on_submit():
        return _show(asset, 422, closed_form=form)
    upkeep.report(asset, current_user, form.what.data, form.note.data or "")
    flash(_("Thank you. A coordinator will look, and tell you what they found."), "success")
    return redirect(url_for("assets.show", asset_id=asset.id), 303)


@bp.route("/coordinator/assets/<int:asset_id>/ask-contact", methods=["POST"])
@allow("assets.moderate")
@limiter.limit("30/hour")  # each sends an e-mail to someone outside the bank
def ask_contact(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    button_pressed()
    try:
        to = upkeep.ask_contact(asset, current_user)
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("A link to confirm or correct it has been e-mailed to %(to)s.", to=to),
              "success")
    return redirect(url_for("assets.show", asset_id=asset.id), 303)


@bp.route("/assets/check/<token>", methods=["GET", "POST"])
@allow("assets.contact")
@limiter.limit("30/hour")
def contact_check(token: str):
    """The asset's named contact, from the e-mailed link (no log-in): confirm the
    details as they are, or send corrections for a coordinator to approve."""
    try:
        asset = upkeep.read_link(token)
    except Refused as refusal:
        return render("assets/contact_check.html", status=410, asset=None,
                      message=refusal.message, form=None)
    if request.method == "POST" and request.form.get("confirm") == "1":
        button_pressed()  # its own little form: the details need not be valid to be right
        upkeep.contact_confirms(asset, clock.utcnow())
        return render("assets/contact_check.html", asset=asset, form=None, message=_(
            "Thank you: the details are confirmed as they are."))
    form = ContactCheckForm(obj=asset if request.method == "GET" else None)
    if request.method == "GET":
        # As the open data writes them (registers write "www.x.org"): the form accepts
        # only whole addresses, and the contact must be able to send it unchanged.
        form.url.data = hsds.uri(asset.url or "") or ""
        form.email.data = hsds.email(asset.email or "") or ""
    if form.validate_on_submit():
        if upkeep.contact_corrects(asset, form.data, form.note.data or "") is None:
            upkeep.contact_confirms(asset, clock.utcnow())
            done = _("Nothing was changed, so the details are confirmed as they are. "
                     "Thank you.")
        else:
            done = _("Thank you: a coordinator will check your corrections and update the "
                     "register.")
        return render("assets/contact_check.html", asset=asset, message=done, form=None)
    return render_form("assets/contact_check.html", form, asset=asset, message=None,
                       action_form=ActionForm())


@bp.route("/coordinator/assets/changes/<int:change_id>/<any(apply,dismiss):outcome>",
          methods=["POST"])
@allow("assets.moderate")
def decide_change(change_id: int, outcome: str):
    change = db.get_or_404(AssetChange, change_id)
    button_pressed()
    try:
        done = upkeep.decide(change, current_user, outcome, clock.utcnow(),
                             url_for("assets.show", asset_id=change.asset_id))
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("assets.moderate"), 303)
    if done == "applied" and change.kind == "moved":
        flash(_("Now give its new place."), "info")
        return redirect(url_for("assets.edit", asset_id=change.asset_id), 303)
    flash(_("Done; whoever told us has been thanked.") if change.member_id
          else _("Done."), "success")
    return redirect(url_for("assets.moderate"), 303)


@bp.route("/assets/<int:asset_id>/reviews", methods=["POST"])
@allow("assets.review")
def review(asset_id: int):
    asset = _visible(asset_id)
    if asset.status != AssetStatus.PUBLISHED:
        abort(404)
    form = ReviewForm()
    if form.validate_on_submit():
        register.review(asset, current_user, form.still_there.data == "yes",
                        form.welcoming.data, form.accessible.data, form.comment.data or "")
        flash(_("Thank you for checking on it."), "success")
        return redirect(url_for("assets.show", asset_id=asset.id), 303)
    return _show(asset, 422, review_form=form)


def _prepare(form: AssetForm) -> AssetForm:
    form.category.choices = choices([(c.id, c.name) for c in register.categories()])
    return form


def _geocode_note(state: str) -> None:
    if state == GeocodeState.PENDING:
        flash(_("Saved. We could not look up the address just now, so it is not on the map "
                "yet; we will try again later."), "info")
    elif state == GeocodeState.NOT_FOUND:
        flash(_("Saved, but we could not find that address on the map. A coordinator will "
                "place it; or pick the place on the map yourself."), "info")


@bp.route("/assets/new", methods=["GET", "POST"])
@allow("assets.suggest")
def suggest():
    form = _prepare(AssetForm())
    if form.validate_on_submit():
        asset, state = register.suggest(form.data, current_user, geo.geocoder())
        _geocode_note(state)
        flash(_("Thank you! A coordinator will check your suggestion before it goes on "
                "the map."), "success")
        return redirect(url_for("assets.show", asset_id=asset.id), 303)
    if (reload := _full_page_only()) is not None:
        return reload
    return render_form("assets/form.html", form, asset=None, parts=_map_parts(), picker=True)


@bp.route("/assets/mine")
@allow("assets.suggest")
def mine():
    rows = register.suggested_by(current_user)
    return render("assets/mine.html", rows=rows)


@bp.route("/coordinator/assets")
@allow("assets.moderate")
def moderate():
    return render("assets/moderate.html", **register.moderation_queues(clock.utcnow()),
                  changes=upkeep.open_changes(),
                  labels={n: getattr(AssetForm, n).args[0] for n in register.TEXT_FIELDS},
                  action_form=ActionForm())


@bp.route("/coordinator/assets/<int:asset_id>/edit", methods=["GET", "POST"])
@allow("assets.moderate")
def edit(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    form = _prepare(CoordinatorAssetForm(obj=asset if request.method == "GET" else None))
    if request.method == "GET":
        form.category.data = asset.category_id
    if form.validate_on_submit():
        publish = request.form.get("publish") == "1"
        _geocode_note(register.edit(asset, form.data, current_user, geo.geocoder(), publish))
        flash(_("Published.") if publish else _("Saved."), "success")
        return redirect(url_for("assets.show", asset_id=asset.id), 303)
    if (reload := _full_page_only()) is not None:
        return reload
    return render_form("assets/form.html", form, asset=asset, parts=_map_parts(
        center=(asset.latitude, asset.longitude) if asset.latitude is not None else None),
        picker=True, reject_form=RejectForm())


@bp.route("/coordinator/assets/<int:asset_id>/reject", methods=["POST"])
@allow("assets.moderate")
def reject(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give a reason: the person who suggested it will see it."), "error")
        return redirect(url_for("assets.edit", asset_id=asset.id), 303)
    register.reject(asset, form.reason.data, current_user,
                    url_for("assets.show", asset_id=asset.id))
    flash(_("Rejected; the person who suggested it has been told why."), "success")
    return redirect(url_for("assets.moderate"), 303)


@bp.route("/coordinator/assets/<int:asset_id>/<any(archive,confirm):action>", methods=["POST"])
@allow("assets.moderate")
def change(asset_id: int, action: str):
    asset = db.get_or_404(Asset, asset_id)
    button_pressed()
    if action == "archive":
        register.archive(asset, current_user)
        flash(_("Archived: it no longer shows on the map."), "success")
    else:
        register.confirm(asset, current_user)
        flash(_("Marked as still there."), "success")
    return redirect(url_for("assets.moderate"), 303)


@bp.route("/assets/gaps")
@allow("area.view")
def gaps():
    if (reload := _full_page_only()) is not None:
        return reload
    form = GapForm(request.args)
    form.category.choices = category_filter_choices("Any kind")
    if not form.validate():
        return render("assets/gaps.html", status=422, form=form, parts=None, cells=[],
                      gap_cells=[], distance=None)
    distance = form.distance.data or 800
    found = register.gaps(form.category.data or "", distance,
                          current_app.config.get("TIMEBANK_AREA_BBOX"))
    bbox = found.bbox
    parts = _map_parts(gaps=found.layer, gaps_key=(form.category.data or "", distance, str(bbox)),
                       fit=((bbox[0], bbox[1]), (bbox[2], bbox[3])) if bbox else None)
    chosen = register.category_by_slug(form.category.data) if form.category.data else None
    args = {"category": form.category.data} if form.category.data else {}
    category_id = chosen.id if chosen else None
    return render("assets/gaps.html", form=form, parts=parts, cells=found.cells,
                  gap_cells=found.named[:100], gap_count=len(found.named),
                  distance=distance, cats=register.categories(),
                  **_map_source(args, (form.category.data or "", "", False, False)),
                  category_id=category_id)


def _bbox_arg():
    raw = request.args.get("bbox")
    if not raw:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        abort(400, _("bbox is min_lon,min_lat,max_lon,max_lat in degrees"))
    if len(values) != 4 or not (-180 <= values[0] <= values[2] <= 180
                                and -90 <= values[1] <= values[3] <= 90):
        abort(400, _("bbox is min_lon,min_lat,max_lon,max_lat in degrees"))
    return values


def _export_key() -> tuple:
    slug = request.args.get("category", "")
    if slug and register.category_by_slug(slug) is None:
        abort(400, _("Unknown category. Use one of: %(slugs)s",
                     slugs=", ".join(c.slug for c in register.categories())))
    bbox = _bbox_arg()
    return slug, tuple(bbox) if bbox else None


@bp.route("/assets.geojson")
@allow("assets.read")
@replica_reads
def export_geojson():
    """The published register as GeoJSON, built once per version of the register."""
    key = _export_key()
    return caching.send(cache.body(cache.REGISTER, ("geojson", *key),
                                 lambda: files.geojson_bytes(*key), "application/geo+json"))


@bp.route("/assets.csv")
@allow("assets.read")
@replica_reads
def export_csv():
    key = _export_key()
    return caching.send(cache.body(cache.REGISTER, ("csv", *key),
                                 lambda: files.csv_bytes(*key), "text/csv"), "assets.csv")


@bp.route("/assets/land-and-assets.csv")
@allow("assets.read")
def land_and_assets():
    """The council's own published assets, as the Transparency Code lists land and
    buildings."""
    return caching.send(cache.body(cache.REGISTER, ("land and assets",),
                                   files.land_and_assets_bytes, "text/csv"),
                        "land-and-assets.csv")


@bp.route("/assets/community-value")
@allow("assets.read")
def community_value():
    return render("assets/community_value.html", assets=files.community_value())


@bp.route("/assets/community-value.csv")
@allow("assets.read")
def community_value_csv():
    return caching.send(cache.body(cache.REGISTER, ("community value",),
                                   files.community_value_bytes, "text/csv"),
                        "assets-of-community-value.csv")


# -- named areas (neighbourhood boundaries) in the browser ---------------------------------


@bp.route("/coordinator/neighbourhoods", methods=["GET", "POST"])
@allow("assets.import")
def neighbourhoods_page():
    """The named areas on a map, and a boundary file to upload for a preview."""
    form = BoundaryForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            staged = neighbourhoods.stage(
                upload.read(neighbourhoods.MAX_UPLOAD + 1), upload.filename or "",
                form.crs.data or "", form.name_field.data or "", current_user.id)
        except Refused as refusal:
            place(form, refusal, "file")
        else:
            return redirect(url_for("assets.boundary_preview", upload_id=staged.id), 303)
    if (reload := _full_page_only()) is not None:
        return reload
    layer, fit = neighbourhoods.areas_layer()
    return render_form("assets/neighbourhoods.html", form, areas=neighbourhoods.all_areas(),
                       parts=maps.site_map(register.DEFAULT_CENTRE, areas=layer, fit=fit),
                       action_form=ActionForm())


@bp.route("/coordinator/neighbourhoods/uploads/<int:upload_id>", methods=["GET", "POST"])
@allow("assets.import")
def boundary_preview(upload_id: int):
    """The uploaded areas on the map, numbered and coloured, each with a name to give
    (or leave empty to leave it out); saving replaces areas of the same name."""
    upload = db.get_or_404(BoundaryUpload, upload_id)
    error = None
    if request.method == "POST":
        button_pressed()
        names = {}
        for key, value in request.form.items():
            if key.startswith("name-") and key[5:].isascii() and key[5:].isdigit() \
                    and len(key) < 12:
                names[int(key[5:])] = value
        try:
            created, replaced = neighbourhoods.adopt(upload, names, current_user.id)
        except Refused as refusal:
            error = refusal.message
        else:
            flash(_("Areas saved: %(created)s new, %(replaced)s replaced.", created=created,
                    replaced=replaced), "success")
            return redirect(url_for("assets.neighbourhoods_page"), 303)
    if (reload := _full_page_only()) is not None:
        return reload
    layer, fit = neighbourhoods.preview_layer(upload)
    return render("assets/boundary_preview.html", status=422 if error else 200,
                  upload=upload, rows=neighbourhoods.staged(upload), error=error,
                  typed=request.form if request.method == "POST" else {},
                  parts=maps.site_map(register.DEFAULT_CENTRE, areas=layer, fit=fit),
                  action_form=ActionForm())


@bp.route("/coordinator/neighbourhoods/<int:area_id>/remove", methods=["POST"])
@allow("assets.import")
def remove_neighbourhood(area_id: int):
    area = db.get_or_404(Neighbourhood, area_id)
    button_pressed()
    neighbourhoods.remove(area, current_user.id)
    flash(_("Removed."), "success")
    return redirect(url_for("assets.neighbourhoods_page"), 303)


# -- importing registers in the browser ------------------------------------------------------


@bp.route("/coordinator/assets/import", methods=["GET", "POST"])
@allow("assets.import")
def import_start():
    """Upload a register; the history of imports below."""
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            record = imports.upload(upload.read(imports.MAX_UPLOAD + 1), upload.filename or "",
                                    current_user.id)
        except imports.ImportError_ as error:
            place(form, error, "file")
        else:
            return redirect(url_for("assets.import_preview", import_id=record.id), 303)
    return render_form("assets/import.html", form, history=imports.history(),
                       previews=imports.previews(), action_form=ActionForm())


def _import_or_404(import_id: int):

    return db.get_or_404(AssetImport, import_id)


@bp.route("/coordinator/assets/import/<int:import_id>", methods=["GET", "POST"])
@allow("assets.import")
def import_preview(import_id: int):
    """The first rows as they will be stored, each with its problem; the mapping form
    (HTMX refreshes the preview as it changes; without JavaScript, "Update preview")."""
    record = _import_or_404(import_id)
    if record.status != "preview":
        return redirect(url_for("assets.import_report", import_id=record.id), 303)
    if request.method == "POST":
        button_pressed()
        imports.save_settings(record, request.form.to_dict())
    shown = imports.preview(record)
    return render("assets/import_preview.html", partial="assets/_import_preview.html",
                  record=record, preview=shown, rows=imports.PREVIEW_ROWS,
                  fields=sources.FIELDS, cats=register.categories(),
                  crs_choices=imports.CRS_CHOICES, options=imports.options_of(record),
                  action_form=ActionForm())


@bp.route("/coordinator/assets/import/<int:import_id>/run", methods=["POST"])
@allow("assets.import")
def import_run(import_id: int):
    record = _import_or_404(import_id)
    button_pressed()
    try:
        report = imports.run(record, current_user.id)
    except imports.ImportError_ as error:
        flash(error.message, "error")
    except sources.SourceError as error:
        flash(error.message, "error")
        return redirect(url_for("assets.import_preview", import_id=record.id), 303)
    else:
        flash(_("Imported: %(summary)s.", summary=report.summary), "success")
    return redirect(url_for("assets.import_report", import_id=record.id), 303)


@bp.route("/coordinator/assets/imports/<int:import_id>")
@allow("assets.import")
def import_report(import_id: int):
    return render("assets/import_report.html", record=_import_or_404(import_id),
                  action_form=ActionForm())


@bp.route("/coordinator/assets/imports/<int:import_id>/archive", methods=["GET", "POST"])
@allow("assets.import")
def import_archive(import_id: int):
    """Archiving takes every asset an import made off the map: a page asks first."""
    record = _import_or_404(import_id)
    if request.method == "GET":
        return render("assets/import_archive.html", record=record,
                      count=files.archived_by(record), action_form=ActionForm())
    button_pressed()
    count = files.archive_import(record, current_user.id)
    flash(_("Archived the %(count)s assets this import created.", count=count), "success")
    return redirect(url_for("assets.import_report", import_id=record.id), 303)
