"""The geocoder against a local fake Nominatim: cache, rate limit, failures; privacy rounding."""

from __future__ import annotations

import threading

import pytest

from tests.support import PLACES, get, submit
from timebank.core.models import GeocodeCache
from timebank.infra import geo
from timebank.infra.extensions import db


@pytest.fixture
def coder(app, nominatim, tmp_path):
    def make(min_interval=0.0, timeout=1.0):
        return geo.Geocoder(domain=nominatim.domain, scheme="http",
                            lock_path=str(tmp_path / "geo.lock"), min_interval=min_interval,
                            timeout=timeout)
    return make


def test_found_and_cached(app, nominatim, coder):
    with app.app_context():
        place = coder().geocode("1 High Street,  Riverside")
        assert (place.latitude, place.longitude) == PLACES["1 high street, riverside"]
        assert not place.cached
        db.session.commit()
        again = coder().geocode("1 high street, riverside")
        assert again.cached and (again.latitude, again.longitude) == (place.latitude,
                                                                     place.longitude)
        assert db.session.query(GeocodeCache).count() == 1
    assert nominatim.search_count() == 1  # the repeat never reached the service


def test_nothing_found_is_none_and_not_cached(app, nominatim, coder):
    with app.app_context():
        assert coder().geocode("Nowhere Lane") is None
        assert coder().geocode("Nowhere Lane") is None
        assert db.session.query(GeocodeCache).count() == 0
    assert nominatim.search_count() == 2


@pytest.mark.parametrize("mode", ["429", "503", "hang"])
def test_service_trouble_raises_unavailable(app, nominatim, coder, mode):
    nominatim.mode = mode
    nominatim.hang_seconds = 2.5
    with app.app_context(), pytest.raises(geo.GeocoderUnavailable):
        coder(timeout=0.5).geocode("1 high street, riverside")


def test_empty_mode_finds_nothing(app, nominatim, coder):
    nominatim.mode = "empty"
    with app.app_context():
        assert coder().geocode("1 high street, riverside") is None


def test_connection_refused_is_unavailable(app, tmp_path):
    from tests.pg import free_port

    with app.app_context(), pytest.raises(geo.GeocoderUnavailable):
        geo.Geocoder(f"127.0.0.1:{free_port()}", "http", str(tmp_path / "geo.lock"),
                     0, 1).geocode("anything")


def test_a_lock_written_with_the_clock_ahead_waits_one_interval_at_most(app, nominatim, coder,
                                                                        tmp_path, monkeypatch):
    """A lock file stamped 400 days ahead (a clock set back since, a restored snapshot) made
    every geocode sleep until then; the wait is now never longer than the interval."""
    import time

    (tmp_path / "geo.lock").write_text(repr(time.time() + 400 * 86400))
    slept: list[float] = []
    monkeypatch.setattr(geo.time, "sleep", slept.append)
    with app.app_context():
        place = coder(min_interval=1.0).geocode("1 high street, riverside")
    assert place is not None and slept and max(slept) <= 1.0
    # and the stamp is back to this machine's time, so the next caller does not wait long
    assert float((tmp_path / "geo.lock").read_text()) <= time.time()


def test_rate_limit_one_request_per_second_across_threads(app, nominatim, coder):
    queries = ["1 high street, riverside", "2 high street, riverside",
               "10 hill road, hillcrest", "far farm, elsewhere"]

    def look(q):
        with app.app_context():
            coder(min_interval=1.0).geocode(q)
            db.session.commit()

    threads = [threading.Thread(target=look, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    times = sorted(t for t, path, _ in nominatim.requests)
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # The limiter spaces sends by 1 s; arrival times at the server may bunch up by the
    # scheduling of a busy machine, never by a whole tenth of a second less per pair.
    assert min(gaps) >= 0.9, gaps


def test_reverse(app, nominatim, coder):
    with app.app_context():
        assert coder().reverse(51.5, -0.1).startswith("Near 51.5000")


def test_public_point_hides_the_exact_place():
    lat, lon = 51.50123, -0.10045
    plat, plon = geo.public_point(lat, lon)
    assert (plat, plon) != (lat, lon)
    assert geo.haversine_km(lat, lon, plat, plon) < 0.4  # same ~500 m cell
    # Every point in a cell maps to the same public point.
    assert geo.public_point(lat + 0.0001, lon + 0.0001) == (plat, plon)


def test_haversine_known_distance():
    # London (51.5074, -0.1278) to Paris (48.8566, 2.3522) is about 343.5 km.
    assert geo.haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1)


@pytest.fixture
def app_config(nominatim):
    return {"TIMEBANK_GEOCODER_DOMAIN": nominatim.domain}


def test_profile_address_sets_private_and_public_points(client, app, login_as, nominatim):
    me = login_as()
    data = {"display_name": "Me", "neighbourhood": "Riverside", "skills": "", "availability": "",
            "bio": "", "phone": "", "address": "RV1 1AA", "email_preference": "weekly"}
    assert submit(client, "/profile", data).status_code == 302
    with app.app_context():
        member = get(me)
        assert (member.latitude, member.longitude) == PLACES["rv1 1aa"]
        assert (member.public_latitude, member.public_longitude) == geo.public_point(
            *PLACES["rv1 1aa"])
        assert member.email_preference == "weekly"
    page = client.get("/profile").get_data(as_text=True)
    assert str(PLACES["rv1 1aa"][0]) not in page  # the exact point never leaves the server
    nominatim.mode = "503"
    data["address"] = "2 High Street, Riverside"
    response = submit(client, "/profile", data)
    assert response.status_code == 302  # saved anyway, with a clear message
    assert "could not look up the address just now" in client.get("/profile").get_data(
        as_text=True)
