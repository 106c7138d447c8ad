"""Neighbourhood boundaries in the browser: upload, preview on the map, name, replace,
remove; a file nobody here wrote (British National Grid, ONS-style names)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.support import submit
from timebank.core.models import BoundaryUpload, Neighbourhood, Role
from timebank.infra.extensions import db

WARDS = Path(__file__).parent / "fixtures" / "registers" / "wards_bng.geojson"
PAGE = "/coordinator/neighbourhoods"


def upload(client, data: bytes, filename: str = "wards.geojson", **fields):
    html = client.get(PAGE).get_data(as_text=True)
    from tests.support import hidden_fields

    return client.post(PAGE, data={**hidden_fields(html), **fields,
                                   "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def square(west: float, south: float, name: str | None) -> dict:
    ring = [[west, south], [west + 0.01, south], [west + 0.01, south + 0.01],
            [west, south + 0.01], [west, south]]
    return {"type": "Feature", "properties": {"label": name} if name else {},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_upload_preview_name_and_replace(app, client, login_as):
    login_as(Role.COORDINATOR)
    sent = upload(client, WARDS.read_bytes())
    assert sent.status_code == 303
    preview = client.get(sent.headers["Location"])
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Riverside Ward" in page and "Hillcrest Ward" in page
    assert "EPSG:27700" in page, "the conversion is said"
    with app.app_context():
        staged = db.session.query(BoundaryUpload).one()
        assert db.session.query(Neighbourhood).count() == 0, "nothing saved yet"
        first = staged.shapes[0]["geometry"]["coordinates"][0][0]
        assert -1 < first[0] < 1 and 51 < first[1] < 52, "converted to longitude, latitude"
    # Rename the first, leave the second out.
    url = sent.headers["Location"]
    saved = submit(client, url, {"name-1": "Riverside North", "name-2": ""})
    assert saved.status_code == 303
    with app.app_context():
        assert [a.name for a in db.session.query(Neighbourhood)] == ["Riverside North"]
    again = submit(client, url, {"name-1": "Other"}, page=url)
    assert again.status_code == 422 and "already been used" in again.get_data(as_text=True)
    # A second file with an area of the same name replaces its boundary.
    doc = {"type": "FeatureCollection", "features": [square(-0.2, 51.6, "Riverside North"),
                                                     square(-0.1, 51.6, None)]}
    second = upload(client, json.dumps(doc).encode())
    url = second.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "replaces the area of that name" in page
    same = submit(client, url, {"name-1": "Riverside North", "name-2": "Riverside North"})
    assert same.status_code == 422 and "same name" in same.get_data(as_text=True)
    assert 'value="Riverside North"' in same.get_data(as_text=True), "what was typed stays"
    done = submit(client, url, {"name-1": "Riverside North", "name-2": "<b>Mill</b> End"})
    assert done.status_code == 303
    with app.app_context():
        areas = {a.name: a for a in db.session.query(Neighbourhood)}
        assert set(areas) == {"Riverside North", "<b>Mill</b> End"}
        assert abs(areas["Riverside North"].min_lat - 51.6) < 1e-9, "replaced"
        mill = areas["<b>Mill</b> End"].id
    listed = client.get(PAGE).get_data(as_text=True)
    assert "&lt;b&gt;Mill&lt;/b&gt; End" in listed and "<b>Mill</b>" not in listed
    removed = submit(client, f"{PAGE}/{mill}/remove", {}, page=PAGE)
    assert removed.status_code == 303
    with app.app_context():
        assert db.session.query(Neighbourhood).count() == 1


def test_bad_files_are_refused_with_a_reason(app, client, login_as):
    login_as(Role.COORDINATOR)
    for data, reason in ((b"not json at all", ""),
                         (json.dumps({"type": "FeatureCollection", "features": [
                             {"type": "Feature", "properties": {"name": "A line"},
                              "geometry": {"type": "LineString",
                                           "coordinates": [[0, 0], [1, 1]]}}]}).encode(),
                          "no polygons")):
        sent = upload(client, data)
        assert sent.status_code == 422
        assert reason in sent.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(BoundaryUpload).count() == 0


def test_residents_and_council_viewers_cannot_change_areas(app, client, login_as):
    login_as()
    assert client.get(PAGE).status_code == 403
    login_as(Role.COUNCIL)
    assert client.get(PAGE).status_code == 403


def test_files_nobody_here_wrote_are_read_or_refused_never_a_500(app, client, login_as):
    login_as(Role.COORDINATOR)
    unknown = {"type": "FeatureCollection", "crs": {"properties": {"name": "EPSG::1"}},
               "features": [square(529000, 179000, "A")]}
    sent = upload(client, json.dumps(unknown).encode())
    assert sent.status_code == 422 and "coordinate system" in sent.get_data(as_text=True)
    odd = {"type": "FeatureCollection", "crs": "EPSG:4326", "features": [
        {**square(-0.2, 51.6, None), "properties": [1]}, "not a feature",
        {"type": "Feature", "properties": {"name": "Flat"}, "geometry": {
            "type": "Polygon", "coordinates": [[[0, 51], [1, 51], [2, 51], [0, 51]]]}}]}
    sent = upload(client, json.dumps(odd).encode())
    assert sent.status_code == 303
    preview = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "no area inside it" in preview and "Area 1" in preview and "Area 2" not in preview
    weird = submit(client, sent.headers["Location"], {"name-²": "X", "name-1": "West"})
    assert weird.status_code == 303
