"""Languages: the page's language, the switcher, complete catalogues, no stray English."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.support import ROOT, TODAY, get, login, submit
from timebank.core.models import Role
from timebank.infra.extensions import db
from timebank.web.i18n import LANGUAGES

TRANSLATIONS = ROOT / "timebank" / "translations"
TEMPLATES = ROOT / "timebank" / "templates"

# What each shipped language says on the welcome and log-in pages.
EXPECTED = {
    "cy": ("Rhannu amser, adeiladu cymuned", "Mewngofnodi", "Cyfeiriad e-bost"),
    "es": ("Compartir tiempo, crear comunidad", "Iniciar sesión", "Correo electrónico"),
    "en": ("Share time, build community", "Log in", "Email address"),
}

# Templates not yet moved to the catalogues (none now). The test below proves each
# one listed still has raw text, so a converted template must leave the list.
NOT_YET_TRANSLATED: set[str] = set()


@pytest.mark.parametrize("lang", ["cy", "es", "en"])
def test_accept_language_chooses_welcome_and_login_language(client, lang):
    slogan, log_in, email = EXPECTED[lang]
    welcome = client.get("/", headers={"Accept-Language": f"{lang},en;q=0.5"})
    html = welcome.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{slogan}</h1>" in html and log_in in html
    page = client.get("/login", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert f"<h1>{log_in}</h1>" in page and email in page


def test_a_members_saved_language_wins_over_the_browser(app, client, login_as):
    member = login_as()
    with app.app_context():
        get(member).language = "es"
        db.session.commit()
    page = client.get("/", headers={"Accept-Language": "cy"}).get_data(as_text=True)
    assert '<html lang="es">' in page and "Cerrar sesión" in page


def test_switcher_sets_the_language_for_visitors_and_saves_it_for_members(app, client, make):
    switched = submit(client, "/language", {"lang": "cy", "next": "/login"}, page="/login")
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/login")
    page = client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="cy">' in page
    outside = submit(client, "/language", {"lang": "es", "next": "//evil.example/x"},
                     page="/login")
    assert "evil.example" not in outside.headers["Location"]
    bad = submit(client, "/language", {"lang": "fr", "next": "/"}, page="/login")
    assert bad.status_code == 400
    member = make.member()
    with app.app_context():
        email = get(member).email
    login(client, email)
    submit(client, "/language", {"lang": "es", "next": "/"}, page="/")
    with app.app_context():
        assert get(member).language == "es"


@pytest.mark.parametrize("lang", sorted(set(LANGUAGES) - {"en"}))
def test_catalogue_is_complete_and_compiled(lang):
    po_path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    untranslated = [m.id for m in catalog if m.id and not (
        all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == [], (untranslated, fuzzy)
    # Placeholders survive translation.
    for message in catalog:
        if message.id and isinstance(message.id, str):  # plurals: checked by hand
            assert set(re.findall(r"%\(\w+\)s", message.id)) == set(
                re.findall(r"%\(\w+\)s", message.string)), message.id
    with (po_path.with_suffix(".mo")).open("rb") as fh:
        compiled = read_mo(fh)
    assert _pairs(compiled) == _pairs(catalog), "run `make translations` to compile"


def _pairs(catalog) -> dict:
    def norm(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {norm(m.id): norm(m.string) for m in catalog if m.id}


def test_catalogues_hold_every_string_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_", "-o",
                    str(pot), "--no-location", "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    for lang in set(LANGUAGES) - {"en"}:
        with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            have = {m.id for m in read_po(fh) if m.id}  # obsolete ones are kept apart
        assert wanted - have == set(), f"{lang}: run `make translations` and translate"


_CODE = re.compile(r"{%-?\s*trans\b.*?endtrans\s*-?%}|{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_SKIP = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_ATTR = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"{]*[A-Za-z][^"{]*)"')


def raw_text(template: Path) -> list[str]:
    """User-facing words in a template outside the translation functions."""
    source = template.read_text()
    found = [m.group(1) for m in _ATTR.finditer(_CODE.sub("", source))]
    text = _TAG.sub(" ", _SKIP.sub(" ", _CODE.sub(" ", source)))
    found += [w for w in re.split(r"\s{2,}|\n", text) if re.search(r"[A-Za-z]{2,}", w)]
    return [w.strip() for w in found if w.strip()]


def test_templates_have_no_text_outside_the_translation_functions():
    leftovers = {}
    for template in sorted(TEMPLATES.rglob("*.html")):
        name = template.relative_to(TEMPLATES).as_posix()
        words = raw_text(template)
        if name in NOT_YET_TRANSLATED:
            assert words, f"{name} is translated now: take it off NOT_YET_TRANSLATED"
        elif words:
            leftovers[name] = words[:5]
    assert leftovers == {}


def test_the_extractor_check_catches_stray_text(tmp_path):
    sample = tmp_path / "sample.html"
    sample.write_text('<p>{{ _("Fine") }}</p>\n<p>Not fine</p>\n<a title="Stray">x</a>\n'
                      "{% trans %}Also fine{% endtrans %}")
    assert raw_text(sample) == ["Stray", "Not fine"]


def test_a_banks_own_language_comes_before_the_browsers(app, client, login_as):
    from timebank.core.models import Bank

    with app.app_context():
        db.session.query(Bank).one().default_language = "cy"
        db.session.commit()
    page = client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="cy">' in page
    member = login_as()
    with app.app_context():
        get(member).language = "es"
        db.session.commit()
    assert '<html lang="es">' in client.get("/").get_data(as_text=True)


def test_wtforms_own_messages_follow_each_requests_language(client):
    """WTForms' messages come from its catalogue, kept per locale and process: each
    request still gets its own language, one after the other in the same worker."""
    said = {"es": "Opción inválida", "cy": "Nid yw hwn yn ddewis dilys", "en": "Not a valid choice"}
    for lang in ["es", "cy", "en", "es"]:
        page = client.get("/assets?category=no-such-kind", headers={"Accept-Language": lang})
        assert page.status_code == 422
        assert said[lang] in page.get_data(as_text=True), lang


def test_days_are_worded_in_each_requests_language_though_remembered(app):
    """The day filters are remembered per day, width and language: another language
    words the same day afresh; a moment is placed on the reader's calendar first."""
    from datetime import date, datetime

    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context("/"):
        said = {}
        for lang in ["en", "cy", "es", "en"]:
            with force_locale(lang):
                found = render_template_string(
                    "{{ d | day }}|{{ d | longday }}|{{ t | day }}|{{ none | day }}",
                    d=date(2026, 11, 26), t=datetime(2026, 11, 26, 23, 30))
                assert said.setdefault(lang, found) == found
        # English as a UK bank writes it (en_GB unless the bank chose another way).
        assert said["en"] == "26 Nov 2026|26 November 2026|26 Nov 2026|"
        assert "Tach" in said["cy"] and "nov" in said["es"]


# -- names of things in the reader's language -------------------------------------------


def test_kinds_are_named_in_the_readers_language(app, client, make, smtp):
    """Kinds of help and of asset: the seeded names in Welsh and Spanish on the listings,
    the exchange and statement (page, print, CSV), the printed sheet, the report and its
    CSV, the map's key and data, and in e-mails; an admin adds a kind with a Welsh name,
    which a Spanish reader sees in English (the fallback)."""
    from timebank.core import notify
    from timebank.core.ledger import writer as ledger
    from timebank.core.models import Category, Member

    app.config.update({"TIMEBANK_MAIL_HOST": "127.0.0.1", "TIMEBANK_MAIL_PORT": smtp[1]})
    gwen = make.member(name="Gwen Welsh", email="gwen@example.org")
    sol = make.member(name="Sol Spanish", email="sol@example.org")
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.listing(sol, kind="offer", title="Tomato seedlings", category="gardening")
    with app.app_context():
        db.session.get(Member, gwen).language = "cy"
        db.session.get(Member, sol).language = "es"
        db.session.get(Member, cora).language = "es"
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        db.session.commit()
        exchange = ledger.record_exchange(
            giver=ledger.account_of(get(sol)), receiver=ledger.account_of(get(gwen)),
            minutes=60, service_date=TODAY, recorded_by=get(sol),
            idempotency_key=ledger.new_key(), confirm=False, category_id=garden).exchange.id
        assert notify.send_pending(app.config) == (1, 0)
    mail = smtp[0].messages[0].get_payload(decode=True).decode()
    assert "Garddio" in mail and "Gardening" not in mail  # Gwen's e-mail, in Welsh

    login(client, "gwen@example.org")
    for page in ("/listings", f"/exchanges/{exchange}", "/paper/nearby"):
        html = client.get(page).get_data(as_text=True)
        assert "Garddio" in html, page
    submit(client, f"/exchanges/{exchange}/confirm", {"back": "show"},
           page=f"/exchanges/{exchange}")
    for page in ("/statement", "/statement/print", "/statement.csv"):
        assert "Garddio" in client.get(page).get_data(as_text=True), page

    login(client, "cora@example.org")
    month = f"start={TODAY:%Y-%m}-01&end={TODAY.isoformat()}"
    assert "Jardinería" in client.get(f"/coordinator/reports?{month}").get_data(as_text=True)
    categories_csv = client.get(f"/coordinator/reports/categories.csv?{month}").get_data(
        as_text=True)
    assert "Jardinería" in categories_csv and "Gardening" not in categories_csv
    assets_page = client.get("/assets").get_data(as_text=True)
    assert "Instituciones" in assets_page  # the map's key
    assert "Instituciones" in client.get("/assets/map.json").get_data(as_text=True)

    # An admin adds a kind with its Welsh name; the Spanish reader falls back to English.
    make.member(Role.ADMIN, email="ada@example.org", name="Ada Admin")
    login(client, "ada@example.org")
    added = submit(client, "/admin/categories", {"name": "Bike repair",
                                                 "name_cy": "Trwsio beiciau", "name_es": ""},
                   page="/admin/categories")
    assert added.status_code == 303
    with app.app_context():
        bikes = db.session.query(Category).filter_by(slug="bike-repair").one()
        assert bikes.names == {"cy": "Trwsio beiciau"} and bikes.name_en == "Bike repair"
        bikes_id = bikes.id
    # …and gives it its Spanish name afterwards, from the list.
    page = client.get("/admin/categories").get_data(as_text=True)
    assert f'id="kind{bikes_id}-name_es"' in page
    named = submit(client, f"/admin/categories/{bikes_id}/names",
                   {f"kind{bikes_id}-name_cy": "Trwsio beiciau",
                    f"kind{bikes_id}-name_es": "Reparación de bicis"}, page="/admin/categories")
    assert named.status_code == 303
    login(client, "gwen@example.org")
    assert "Trwsio beiciau" in client.get("/listings/new").get_data(as_text=True)
    login(client, "sol@example.org")
    assert "Reparación de bicis" in client.get("/listings/new").get_data(as_text=True)


def test_no_user_facing_string_in_python_escapes_the_catalogues():
    """Words for people that Python hands to flash, abort, notify or a refusal are wrapped
    in _() (they were English on a Welsh page: "bbox is…", "not valid GeoJSON…"). The
    command line speaks to the operator in English, and a line marked "not for people"
    is an internal check."""
    import ast

    said_to_people = {"flash", "abort", "notify", "Refused", "LedgerError", "MemberError",
                      "BankError", "SourceError", "Held", "ImportError_", "TaxonomyError",
                      "IdeaRefused", "AuthError", "MemberNotFound", "BoundaryError",
                      "GeocoderUnavailable"}
    offenders = []
    for path in sorted((ROOT / "timebank").rglob("*.py")):
        if path.name == "cli.py":
            continue
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in said_to_people or "not for people" in lines[node.lineno - 1]:
                continue
            for arg in node.args:
                plain = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                if (plain and " " in arg.value) or isinstance(arg, ast.JoinedStr):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                     f"{ast.unparse(arg)[:60]}")
    assert offenders == [], "wrap these in _():\n" + "\n".join(offenders)


def test_the_community_pool_is_named_in_the_readers_language(app):
    from flask_babel import force_locale

    from timebank.core.ledger import writer as ledger

    with app.test_request_context():
        pool = ledger.pool_account()
        assert pool.label == "Community pool"
        with force_locale("cy"):
            assert pool.label != "Community pool" and pool.label
