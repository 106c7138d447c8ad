from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import or_, select

from .. import assets as register
from .. import geo, maps
from ..auth import staff_required, trader_required, viewer_required
from ..extensions import db
from ..forms import choices, like_pattern
from ..htmx import render, render_form
from ..members.forms import ActionForm
from ..models import Asset, AssetCategory, AssetReview, AssetStatus, GeocodeState, Member
from ..models.audit import record as audit
from ..models.base import utcnow
from ..routing import arg_id
from .forms import AssetForm, GapForm, MapFilterForm, RejectForm, ReviewForm

bp = Blueprint("assets", __name__)
LIST_PAGE = 50
DEFAULT_CENTRE = (51.5072, -0.1276)


def map_assets() -> maps.MapAssets:
    static = lambda path: url_for("static", filename=path)  # noqa: E731
    return maps.MapAssets(
        js=(static("vendor/leaflet/leaflet.js"),
            static("vendor/leaflet.markercluster/leaflet.markercluster.js")),
        css=(static("vendor/leaflet/leaflet.css"),
             static("vendor/leaflet.markercluster/MarkerCluster.css"),
             static("vendor/leaflet.markercluster/MarkerCluster.Default.css")),
    )



def published_query(category_slug: str = "", text: str = "", open_to_all: bool = False,
                    step_free: bool = False, bbox=None):
    query = select(Asset).where(Asset.status == AssetStatus.PUBLISHED.value)
    if category_slug:
        query = query.join(AssetCategory).where(AssetCategory.slug == category_slug)
    if text:
        like = like_pattern(text.strip())
        query = query.where(or_(Asset.name.ilike(like, escape="\\"),
                                Asset.description.ilike(like, escape="\\")))
    if open_to_all:
        query = query.where(Asset.open_to_all)
    if step_free:
        query = query.where(Asset.step_free)
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        query = query.where(Asset.latitude.between(min_lat, max_lat),
                            Asset.longitude.between(min_lon, max_lon))
    return query


def category_filter_choices(blank: str):
    """The kind-of-asset filter: ``blank`` for all, then each category by slug."""
    return choices([("", blank), *[(c.slug, c.name) for c in register.categories()]])


def _map_data(rows, cats):
    """The compact GeoJSON the page's map draws (id, name and category index per asset),
    serialised once, HTML-safe for a single-quoted attribute."""
    index = {c.id: i for i, c in enumerate(cats)}
    features = [maps.asset_feature(a.id, a.latitude, a.longitude,
                                   {"n": a.name, "c": index.get(a.category_id, 0)})
                for a in rows if a.latitude is not None]
    return maps.html_safe_json({"type": "FeatureCollection", "features": features,
                                "categories": [{"name": c.name, "colour": c.colour}
                                               for c in cats]})


FILTER_KEYS = ("category", "q", "open_to_all", "step_free")
MAP_COLUMNS = (Asset.id, Asset.name, Asset.category_id, Asset.latitude, Asset.longitude)


def _map_parts(center=None, gaps=None, fit=None) -> maps.MapParts:
    return maps.build_map(
        assets=map_assets(), center=center or DEFAULT_CENTRE, zoom=14,
        tiles_url=current_app.config["TIMEBANK_TILES_URL"],
        attribution=current_app.config["TIMEBANK_TILES_ATTRIBUTION"], gaps=gaps,
        fit_bounds=fit)


def _bounds(rows):
    points = [(a.latitude, a.longitude) for a in rows if a.latitude is not None]
    if not points:
        return None
    return ((min(p[0] for p in points), min(p[1] for p in points)),
            (max(p[0] for p in points), max(p[1] for p in points)))


def _full_page_only():
    """Map pages run folium's script, which a boosted (AJAX) navigation would not: reload."""
    hx = getattr(request, "htmx", None)
    if hx and hx.boosted:
        response = Response(status=200)
        response.headers["HX-Redirect"] = request.full_path.rstrip("?")
        return response
    return None


@bp.route("/assets")
def index():
    if (reload := _full_page_only()) is not None:
        return reload
    form = MapFilterForm(request.args)
    form.category.choices = category_filter_choices("All kinds")
    status = 200 if form.validate() else 422
    cats = register.categories()
    rows = []
    if status == 200:
        # Plain column rows, not ORM objects: the page may carry ten thousand assets.
        query = published_query(form.category.data or "", form.q.data or "",
                                bool(form.open_to_all.data), bool(form.step_free.data))
        rows = db.session.execute(
            query.with_only_columns(*MAP_COLUMNS).order_by(Asset.name, Asset.id)).all()
    start = arg_id("start") or 0
    listed = rows[start : start + LIST_PAGE]
    args = {k: v for k, v in request.args.items() if k in FILTER_KEYS and v}
    ctx = dict(form=form, cats=cats, cat_names={c.id: c.name for c in cats}, rows=rows,
               listed=listed, start=start, args=args,
               page_size=LIST_PAGE, map_data=_map_data(rows, cats))
    hx = getattr(request, "htmx", None)
    if hx and not hx.boosted and hx.target == "asset-results":
        return render("assets/_results.html", status=status, **ctx)
    parts = _map_parts(fit=_bounds(rows))
    return render("assets/index.html", status=status, parts=parts, **ctx)



def _visible(asset_id: int) -> Asset:
    asset = db.get_or_404(Asset, asset_id)
    if asset.status != AssetStatus.PUBLISHED.value:
        mine = current_user.is_authenticated and asset.submitted_by_id == current_user.id
        staff = current_user.is_authenticated and current_user.is_staff
        if not (mine or staff):
            abort(404)
    return asset


@bp.route("/assets/<int:asset_id>")
def show(asset_id: int):
    asset = _visible(asset_id)
    reviews = db.session.scalars(
        select(AssetReview).where(AssetReview.asset_id == asset.id)
        .order_by(AssetReview.id.desc()).limit(50)
    ).all()
    can_review = (current_user.is_authenticated and current_user.can_trade
                  and asset.status == AssetStatus.PUBLISHED.value)
    return render("assets/show.html", asset=asset, reviews=reviews,
                  review_form=ReviewForm() if can_review else None,
                  stale=register.is_stale(asset))


@bp.route("/assets/<int:asset_id>/reviews", methods=["POST"])
@trader_required
def review(asset_id: int):
    asset = _visible(asset_id)
    if asset.status != AssetStatus.PUBLISHED.value:
        abort(404)
    form = ReviewForm()
    if form.validate_on_submit():
        still_there = form.still_there.data == "yes"
        db.session.add(AssetReview(asset_id=asset.id, member_id=current_user.id,
                                   still_there=still_there, welcoming=form.welcoming.data,
                                   accessible=form.accessible.data,
                                   comment=(form.comment.data or "").strip()))
        if still_there:
            asset.confirmed_at = utcnow()
        audit(current_user.id, "asset.review", "asset", asset.id, still_there=still_there)
        db.session.commit()
        flash("Thank you for checking on it.", "success")
        return redirect(url_for("assets.show", asset_id=asset.id), 303)
    reviews = db.session.scalars(
        select(AssetReview).where(AssetReview.asset_id == asset.id)
        .order_by(AssetReview.id.desc()).limit(50)).all()
    return render("assets/show.html", status=422, asset=asset, reviews=reviews,
                  review_form=form, stale=register.is_stale(asset))


def _prepare(form: AssetForm) -> AssetForm:
    form.category.choices = choices([(c.id, c.name) for c in register.categories()])
    return form


TEXT_FIELDS = ("name", "description", "address_1", "city", "postal_code", "opening_hours",
               "audience", "accessibility", "run_by", "url", "email", "phone")


def _apply(asset: Asset, form: AssetForm) -> None:
    for name in TEXT_FIELDS:
        setattr(asset, name, (getattr(form, name).data or "").strip())
    asset.category_id = form.category.data
    asset.open_to_all = bool(form.open_to_all.data)
    asset.step_free = bool(form.step_free.data)


def _place(asset: Asset, form: AssetForm, address_changed: bool) -> None:
    """Coordinates from the map picker, or from the address. Runs before other changes."""
    if form.latitude.data is not None and form.longitude.data is not None:
        asset.latitude, asset.longitude = form.latitude.data, form.longitude.data
        asset.geocode_source, asset.geocode_state = "map", GeocodeState.OK.value
        return
    if not address_changed and asset.latitude is not None:
        return
    probe = Asset(address_1=form.address_1.data or "", city=form.city.data or "",
                  postal_code=form.postal_code.data or "")
    state = register.locate(probe, geo.geocoder())
    asset.geocode_state = state
    if state == GeocodeState.OK.value:
        asset.latitude, asset.longitude = probe.latitude, probe.longitude
        asset.geocode_source = "nominatim"
    else:
        asset.latitude = asset.longitude = None
        if state == GeocodeState.PENDING.value:
            flash("Saved. We could not look up the address just now, so it is not on the map "
                  "yet; we will try again later.", "info")
        else:
            flash("Saved, but we could not find that address on the map. A coordinator will "
                  "place it; or pick the place on the map yourself.", "info")


@bp.route("/assets/new", methods=["GET", "POST"])
@trader_required
def suggest():
    form = _prepare(AssetForm())
    if form.validate_on_submit():
        asset = Asset(status=AssetStatus.PROPOSED.value)
        _place(asset, form, address_changed=True)  # may wait on the geocoder: first
        _apply(asset, form)
        asset.submitted_by_id = current_user.id
        db.session.add(asset)
        db.session.flush()
        audit(current_user.id, "asset.suggest", "asset", asset.id)
        db.session.commit()
        flash("Thank you! A coordinator will check your suggestion before it goes on the map.",
              "success")
        return redirect(url_for("assets.show", asset_id=asset.id), 303)
    if (reload := _full_page_only()) is not None:
        return reload
    return render_form("assets/form.html", form, asset=None, parts=_map_parts(), picker=True)


@bp.route("/assets/mine")
@trader_required
def mine():
    rows = db.session.scalars(
        select(Asset).where(Asset.submitted_by_id == current_user.id)
        .order_by(Asset.id.desc()).limit(200)).all()
    return render("assets/mine.html", rows=rows)


@bp.route("/coordinator/assets")
@staff_required
def moderate():
    proposed = db.session.scalars(
        select(Asset).where(Asset.status == AssetStatus.PROPOSED.value).order_by(Asset.id)
        .limit(200)).all()
    cutoff = register.stale_cutoff()
    stale = db.session.scalars(
        select(Asset).where(Asset.status == AssetStatus.PUBLISHED.value,
                            or_(Asset.confirmed_at < cutoff,
                                Asset.confirmed_at.is_(None) & (Asset.created_at < cutoff)))
        .order_by(Asset.confirmed_at).limit(200)).all()
    unplaced = db.session.scalars(
        select(Asset).where(Asset.status == AssetStatus.PUBLISHED.value,
                            Asset.latitude.is_(None)).order_by(Asset.id).limit(200)).all()
    return render("assets/moderate.html", proposed=proposed, stale=stale, unplaced=unplaced,
                  action_form=ActionForm())


@bp.route("/coordinator/assets/<int:asset_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    form = _prepare(AssetForm(obj=asset if request.method == "GET" else None))
    if request.method == "GET":
        form.category.data = asset.category_id
    if form.validate_on_submit():
        address_changed = (form.address_1.data, form.city.data, form.postal_code.data) != (
            asset.address_1, asset.city, asset.postal_code)
        _place(asset, form, address_changed)
        _apply(asset, form)
        publish = request.form.get("publish") == "1"
        if publish:
            asset.status = AssetStatus.PUBLISHED.value
            asset.approved_by_id = current_user.id
            asset.confirmed_at = utcnow()
            asset.rejection_reason = ""
        audit(current_user.id, "asset.publish" if publish else "asset.edit", "asset", asset.id)
        db.session.commit()
        flash("Published." if publish else "Saved.", "success")
        return redirect(url_for("assets.show", asset_id=asset.id), 303)
    if (reload := _full_page_only()) is not None:
        return reload
    return render_form("assets/form.html", form, asset=asset, parts=_map_parts(
        center=(asset.latitude, asset.longitude) if asset.latitude is not None else None),
        picker=True, reject_form=RejectForm())


@bp.route("/coordinator/assets/<int:asset_id>/reject", methods=["POST"])
@staff_required
def reject(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash("Give a reason: the person who suggested it will see it.", "error")
        return redirect(url_for("assets.edit", asset_id=asset.id), 303)
    asset.status = AssetStatus.REJECTED.value
    asset.rejection_reason = form.reason.data.strip()
    audit(current_user.id, "asset.reject", "asset", asset.id, reason=asset.rejection_reason)
    if asset.submitted_by_id:
        from ..notify import notify

        submitter = db.session.get(Member, asset.submitted_by_id)
        notify(submitter, f"Your suggestion “{asset.name}” was not added: "
               f"{asset.rejection_reason}", f"/assets/{asset.id}",
               current_app.config["TIMEBANK_BASE_URL"])
    db.session.commit()
    flash("Rejected; the person who suggested it has been told why.", "success")
    return redirect(url_for("assets.moderate"), 303)


@bp.route("/coordinator/assets/<int:asset_id>/<any(archive,confirm):action>", methods=["POST"])
@staff_required
def change(asset_id: int, action: str):
    asset = db.get_or_404(Asset, asset_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if action == "archive":
        asset.status = AssetStatus.ARCHIVED.value
        flash("Archived: it no longer shows on the map.", "success")
    else:
        asset.confirmed_at = utcnow()
        flash("Marked as still there.", "success")
    audit(current_user.id, f"asset.{action}", "asset", asset.id)
    db.session.commit()
    return redirect(url_for("assets.moderate"), 303)


@bp.route("/assets/gaps")
@viewer_required
def gaps():
    if (reload := _full_page_only()) is not None:
        return reload
    form = GapForm(request.args)
    form.category.choices = category_filter_choices("Any kind")
    if not form.validate():
        return render("assets/gaps.html", status=422, form=form, parts=None, cells=[],
                      gap_cells=[], distance=None)
    distance = form.distance.data or 800
    rows = db.session.execute(
        published_query(form.category.data or "").with_only_columns(*MAP_COLUMNS)).all()
    points = [(a.latitude, a.longitude) for a in rows if a.latitude is not None]
    cells, gap_cells = [], []
    area = area_points(points)
    bbox = geo.padded_bbox(area, distance)
    if bbox:
        cells = geo.coverage_grid(bbox, points, cell_m=max(100.0, distance / 3))
        gap_cells = sorted((c for c in cells if c.nearest_m is None or c.nearest_m > distance),
                           key=lambda c: -(c.nearest_m or 1e12))
    parts = _map_parts(gaps=maps.gap_features(cells, distance),
                       fit=((bbox[0], bbox[1]), (bbox[2], bbox[3])) if bbox else None)
    cats = register.categories()
    return render("assets/gaps.html", form=form, parts=parts, cells=cells,
                  gap_cells=gap_cells[:100], gap_count=len(gap_cells), distance=distance,
                  cats=cats, map_data=_map_data(rows, cats))


def area_points(asset_points):
    """The area studied: TIMEBANK_AREA_BBOX if set, else around every published asset.

    Never members' locations: their outermost points would show where people live.
    """
    configured = current_app.config.get("TIMEBANK_AREA_BBOX")
    if configured:
        min_lon, min_lat, max_lon, max_lat = configured
        return [(min_lat, min_lon), (max_lat, max_lon)]
    everything = db.session.execute(
        select(Asset.latitude, Asset.longitude).where(
            Asset.status == AssetStatus.PUBLISHED.value, Asset.latitude.isnot(None))).all()
    return [tuple(p) for p in everything] or list(asset_points)


def _bbox_arg():
    raw = request.args.get("bbox")
    if not raw:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        abort(400, "bbox is min_lon,min_lat,max_lon,max_lat in degrees")
    if len(values) != 4 or not (-180 <= values[0] <= values[2] <= 180
                                and -90 <= values[1] <= values[3] <= 90):
        abort(400, "bbox is min_lon,min_lat,max_lon,max_lat in degrees")
    return values


def _export_query():
    slug = request.args.get("category", "")
    if slug and not db.session.scalar(select(AssetCategory.id).where(AssetCategory.slug == slug)):
        abort(400, f"Unknown category. Use one of: "
                   f"{', '.join(c.slug for c in register.categories())}")
    return published_query(slug, bbox=_bbox_arg()).order_by(Asset.id)


@bp.route("/assets.geojson")
def export_geojson():
    rows = db.session.scalars(_export_query()).all()
    response = jsonify(register.to_geojson(rows))
    response.mimetype = "application/geo+json"
    return response


@bp.route("/assets.csv")
def export_csv():
    rows = db.session.scalars(_export_query()).all()
    return Response(stream_with_context(register.to_csv_chunks(rows)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="assets.csv"'})
