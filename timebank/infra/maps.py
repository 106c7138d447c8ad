"""The site's maps, built with folium (the asset map, coverage gaps, the reports'
choropleth).

folium draws the map and its tile layer; the page embeds folium's HTML and
script parts directly (no iframe). Everything folium would fetch from CDNs is
replaced by files served from timebank/static (``MapAssets``), so maps work
offline and under a Content-Security-Policy. Assets are not one Python marker
object each: they travel as one GeoJSON data block that static/js/assetmap.js
draws client-side (clustered, coloured by category, popups built as text, so
user text can never become markup).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import folium
from branca.element import Figure
from flask import current_app, url_for
from markupsafe import Markup


@dataclass(frozen=True)
class MapAssets:
    """Local URLs of the JavaScript and CSS a map page needs (in load order)."""

    js: tuple[str, ...]
    css: tuple[str, ...]


@dataclass(frozen=True)
class MapParts:
    name: str  # the JavaScript variable folium gives the map
    html: str
    script: str
    js: tuple[str, ...]
    css: tuple[str, ...]


def local_assets() -> MapAssets:
    """Leaflet and MarkerCluster as vendored under static/ (never a CDN)."""
    static = lambda path: url_for("static", filename=path)  # noqa: E731
    return MapAssets(
        js=(static("vendor/leaflet/leaflet.js"),
            static("vendor/leaflet.markercluster/leaflet.markercluster.js")),
        css=(static("vendor/leaflet/leaflet.css"),
             static("vendor/leaflet.markercluster/MarkerCluster.css"),
             static("vendor/leaflet.markercluster/MarkerCluster.Default.css")),
    )


def site_map(center, gaps=None, fit=None, areas=None, points=None) -> MapParts:
    """A map with the site's own files and the configured tiles."""
    return build_map(assets=local_assets(), center=center, zoom=14,
                     tiles_url=current_app.config["TIMEBANK_TILES_URL"],
                     attribution=current_app.config["TIMEBANK_TILES_ATTRIBUTION"], gaps=gaps,
                     fit_bounds=fit, areas=areas, points=points)


def _localise(element, assets: MapAssets) -> None:
    # Instance attributes shadow folium's class-wide CDN lists for this map only.
    element.default_js = [(f"local{i}", url) for i, url in enumerate(assets.js)]
    element.default_css = [(f"local{i}", url) for i, url in enumerate(assets.css)]


def build_map(
    *,
    assets: MapAssets,
    center: tuple[float, float],
    zoom: int = 14,
    tiles_url: str = "",
    attribution: str = "",
    gaps: dict | None = None,
    fit_bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    areas: dict | None = None,
    points: dict | None = None,
) -> MapParts:
    """A folium map with optional tiles, an optional coverage-gap layer and optional
    shaded areas (GeoJSON whose features carry their ``fill`` colour)."""
    # max_zoom on the map itself: clustering needs it even when there is no tile layer.
    m = folium.Map(location=list(center), zoom_start=zoom, tiles=None, prefer_canvas=True,
                   control_scale=True, maxZoom=19, minZoom=3)
    _localise(m, assets)
    if tiles_url:
        folium.TileLayer(tiles=tiles_url, attr=attribution, name="Map", max_zoom=19).add_to(m)
    if gaps and gaps.get("features"):
        layer = folium.GeoJson(
            gaps, name="Coverage gaps",
            style_function=lambda _feature: {"color": "#b00020", "weight": 0,
                                             "fillColor": "#b00020", "fillOpacity": 0.3},
        )
        _localise(layer, MapAssets((), ()))
        layer.add_to(m)
    if areas and areas.get("features"):
        layer = folium.GeoJson(
            areas, name="Neighbourhoods",
            style_function=lambda feature: {"color": "#0b0c0c", "weight": 1,
                                            "fillColor": feature["properties"]["fill"],
                                            "fillOpacity": 0.65},
        )
        _localise(layer, MapAssets((), ()))
        layer.add_to(m)
    if points and points.get("features"):
        # Dots with a popup of their "label" property, which the caller has escaped:
        # folium writes popup fields into the page as HTML.
        layer = folium.GeoJson(
            points, name="Ideas",
            marker=folium.CircleMarker(radius=8, fill=True, color="#0b0c0c", weight=1,
                                       fill_color="#d4351c", fill_opacity=0.85),
            popup=folium.GeoJsonPopup(fields=["label"], labels=False),
        )
        _localise(layer, MapAssets((), ()))
        layer.add_to(m)
    if fit_bounds:
        m.fit_bounds([list(fit_bounds[0]), list(fit_bounds[1])])
    root = cast(Figure, m.get_root())  # a Map's root is the page's Figure
    root.render()
    return MapParts(name=m.get_name(), html=root.html.render(), script=root.script.render(),
                    js=assets.js, css=assets.css)


def asset_feature(asset_id: int, lat: float, lon: float, properties: dict) -> dict:
    return {"type": "Feature", "id": asset_id,
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": properties}


def gap_features(cells, max_m: float) -> dict:
    """The cells farther than ``max_m`` from any asset, as GeoJSON polygons."""
    features = []
    for cell in cells:
        if cell.nearest_m is None or cell.nearest_m > max_m:
            ring = [[cell.west, cell.south], [cell.east, cell.south], [cell.east, cell.north],
                    [cell.west, cell.north], [cell.west, cell.south]]
            features.append({"type": "Feature",
                             "geometry": {"type": "Polygon", "coordinates": [ring]},
                             "properties": {"cell": cell.label, "nearest_m": cell.nearest_m}})
    return {"type": "FeatureCollection", "features": features}


def html_safe_json(data) -> Markup:
    """Compact JSON safe inside a single-quoted HTML attribute or a <script> element
    (the same escapes as Jinja's ``tojson``, without its key sorting)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    # Chained replace() is several times faster than str.translate on a megabyte.
    text = (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("'", "\\u0027"))
    return Markup(text)  # noqa: S704 - every markup character escaped
