"""Command-line tools: ``flask --app timebank <command>``."""

from __future__ import annotations

import random
import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, insert, select

from . import ledger
from .extensions import db
from .models import Account, Exchange, Member, MemberStatus, Role
from .models.base import utcnow
from .models.skills import seed_categories

DEMO_PASSWORD = "timebank-demo"  # noqa: S105 - published demo logins, documented in README
DEMO_LOGINS = [
    ("resident@example.org", "Rosa Resident", Role.RESIDENT),
    ("coordinator@example.org", "Cole Coordinator", Role.COORDINATOR),
    ("council@example.org", "Cara Council", Role.COUNCIL),
    ("admin@example.org", "Ada Admin", Role.ADMIN),
]
FIRST = ["Amina", "Ben", "Chloe", "Dev", "Ellie", "Femi", "Grace", "Hamza", "Iris", "Jack",
         "Kofi", "Lena", "Mo", "Nia", "Omar", "Priya", "Quinn", "Ravi", "Sara", "Tom", "Uma",
         "Vic", "Wen", "Yusuf", "Zoe"]
LAST = ["Ahmed", "Brown", "Clarke", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal",
        "Jones", "Khan", "Lewis", "Murphy", "Nowak", "Okafor", "Patel", "Reid", "Smith",
        "Taylor", "Walsh", "Young"]
PLACES = ["Northside", "Riverside", "Old Town", "Hillcrest", "Market Ward", "Parkfield"]
WHAT = ["Helped with the garden", "Fixed a shelf", "Lift to the clinic", "Shopping trip",
        "Phone set-up", "Cup of tea and a chat", "Helped fill in a form", "Walked the dog",
        "Cooked a meal", "Sewing repair", "Homework help", "Language practice"]


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(check_ledger)
    app.cli.add_command(seed_demo)
    app.cli.add_command(seed_categories_cmd)
    app.cli.add_command(send_mail)
    app.cli.add_command(send_digests)
    app.cli.add_command(geocode_pending)
    app.cli.add_command(import_assets_cmd)
    app.cli.add_command(export_assets_cmd)


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.RESIDENT.value)
@click.option("--name", "display_name", default=None, help="Display name (default: from email)")
@click.option("--neighbourhood", default="")
def create_user(email: str, role: str, display_name: str | None, neighbourhood: str) -> None:
    """Create an active member; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 10:
        raise click.ClickException("The password must be at least 10 characters.")
    email = Member.normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise click.ClickException("That is not an email address.")
    if db.session.scalar(select(Member.id).where(Member.email == email)):
        raise click.ClickException(f"{email} is already registered.")
    member = Member(
        email=email,
        display_name=(display_name or email.split("@")[0])[:80],
        role=role,
        status=MemberStatus.ACTIVE.value,
        neighbourhood=neighbourhood[:80],
    )
    member.set_password(password)
    db.session.add(member)
    db.session.flush()
    ledger.open_account(member)
    db.session.commit()
    click.echo(f"Created {role} {email} (member {member.id}).")


@click.command("check-ledger")
@with_appcontext
@click.option("--repair-balances", is_flag=True, help="Recompute cached balances from entries.")
def check_ledger(repair_balances: bool) -> None:
    """Check the ledger invariants; exit 1 naming each problem."""
    if repair_balances:
        for account_id, old, new in ledger.repair_balances():
            click.echo(f"account {account_id}: balance {old} -> {new}")
    problems = ledger.check_ledger()
    if problems:
        for line in problems:
            click.echo(line, err=True)
        click.echo(f"ledger check FAILED: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    exchanges = db.session.scalar(select(func.count(Exchange.id)))
    accounts = db.session.scalar(select(func.count(Account.id)))
    click.echo(f"ledger OK: {exchanges} exchanges, {accounts} accounts, all invariants hold")


@click.command("seed-categories")
@with_appcontext
def seed_categories_cmd() -> None:
    """Add the default skills categories that are missing."""
    added = seed_categories()
    db.session.commit()
    click.echo(f"{added} categories added")


@click.command("seed-demo")
@with_appcontext
@click.option("--members", "n_members", default=60, show_default=True)
@click.option("--exchanges", "n_exchanges", default=300, show_default=True)
@click.option("--assets", "n_assets", default=0, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when members already exist.")
def seed_demo(n_members: int, n_exchanges: int, n_assets: int, seed: int, if_empty: bool) -> None:
    """Fill the database with demo members and a balanced exchange history."""
    if if_empty and db.session.scalar(select(func.count(Member.id))):
        click.echo("The database already has members; not seeding.")
        _print_logins()
        return
    rng = random.Random(seed)
    seed_categories()
    db.session.commit()
    demo_members = _demo_logins(rng)
    member_ids = [m.id for m in demo_members if m.role in (Role.RESIDENT, Role.COORDINATOR)]
    member_ids += _bulk_members(rng, n_members)
    accounts = ledger.open_accounts_bulk(member_ids)
    with click.progressbar(length=n_exchanges, label="exchanges") as bar:
        ledger.seed_history(rng, accounts, n_exchanges, WHAT, progress=bar.update)
    _demo_listings(rng, member_ids[: min(len(member_ids), 60)])
    if n_assets:
        _demo_assets(rng, n_assets)
    _print_logins()


def _print_logins() -> None:
    existing = set(db.session.scalars(
        select(Member.email).where(Member.email.in_([e for e, _n, _r in DEMO_LOGINS]))))
    if not existing:
        return
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, _name, role in DEMO_LOGINS:
        if email in existing:
            click.echo(f"  {role.value:<12} {email}")


def _demo_logins(rng: random.Random) -> list[Member]:
    made = []
    for email, name, role in DEMO_LOGINS:
        member = db.session.scalar(select(Member).where(Member.email == email))
        if member is None:
            member = Member(email=email, display_name=name, role=role.value,
                            status=MemberStatus.ACTIVE.value, neighbourhood=PLACES[0],
                            skills="Gardening, baking", availability="Weekday mornings",
                            **_demo_location(rng))
            member.set_password(DEMO_PASSWORD)
            db.session.add(member)
            db.session.flush()
        if role in (Role.RESIDENT, Role.COORDINATOR):
            ledger.open_account(member)
        made.append(member)
    db.session.commit()
    return made


def _demo_location(rng: random.Random) -> dict:
    """A private point in the demo area, and the ~500 m cell others may see."""
    from .geo import public_point

    lat, lon = 51.50 + rng.uniform(-0.03, 0.03), -0.10 + rng.uniform(-0.05, 0.05)
    public_lat, public_lon = public_point(lat, lon)
    return {"latitude": lat, "longitude": lon, "public_latitude": public_lat,
            "public_longitude": public_lon}


def _bulk_members(rng: random.Random, n: int) -> list[int]:
    if n <= 0:
        return []
    from werkzeug.security import generate_password_hash

    # One shared hash: hashing thousands of passwords one by one would take minutes.
    shared_hash = generate_password_hash(DEMO_PASSWORD)
    tag = rng.getrandbits(32)
    rows = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append({
            "email": f"member{i + 1}.{tag:08x}@example.org",
            "display_name": f"{first} {last}",
            "password_hash": shared_hash,
            "role": Role.RESIDENT.value,
            "status": MemberStatus.ACTIVE.value,
            "neighbourhood": rng.choice(PLACES),
            "bio": "", "skills": rng.choice(WHAT), "availability": "", "phone": "",
            **_demo_location(rng),
        })
    ids: list[int] = []
    with click.progressbar(range(0, n, 5000), label="members") as bar:
        for offset in bar:
            ids += db.session.scalars(
                insert(Member).returning(Member.id), rows[offset : offset + 5000]
            ).all()
    db.session.commit()
    return ids


@click.command("send-mail")
@with_appcontext
@click.option("--limit", default=200, show_default=True)
def send_mail(limit: int) -> None:
    """Send queued e-mail through the TIMEBANK_MAIL_* server; failures stay queued."""
    from flask import current_app

    from .notify import send_pending

    sent, failed = send_pending(current_app.config, limit)
    click.echo(f"{sent} sent, {failed} failed (left queued for the next run)")
    if failed and not sent:
        sys.exit(1)


@click.command("send-digests")
@with_appcontext
def send_digests() -> None:
    """Queue the weekly digest e-mails (then run send-mail)."""
    from flask import current_app

    from .notify import queue_digests

    queued = queue_digests(current_app.config["TIMEBANK_BASE_URL"])
    click.echo(f"{queued} digests queued")


@click.command("geocode-pending")
@with_appcontext
def geocode_pending() -> None:
    """Retry geocoding addresses the geocoder could not answer for earlier."""
    from . import geo

    coder = geo.geocoder()
    pending = db.session.scalars(
        select(Member).where(Member.address != "", Member.latitude.is_(None))
    ).all()
    found = missing = 0
    for member in pending:
        member_id, address = member.id, member.address
        try:
            place = coder.geocode(address)
        except geo.GeocoderUnavailable as error:
            click.echo(f"geocoder unavailable ({error}); try again later", err=True)
            sys.exit(1)
        member = db.session.get(Member, member_id)
        if place is None:
            missing += 1
            continue
        member.latitude, member.longitude = place.latitude, place.longitude
        member.public_latitude, member.public_longitude = geo.public_point(place.latitude,
                                                                           place.longitude)
        db.session.commit()
        found += 1
    click.echo(f"members: {found} located, {missing} not found")
    from .assets import locate
    from .models import Asset, GeocodeState

    waiting = list(db.session.scalars(
        select(Asset.id).where(Asset.geocode_state == GeocodeState.PENDING.value)))
    states: dict[str, int] = {}
    for asset_id in waiting:
        asset = db.session.get(Asset, asset_id)
        state = locate(asset, coder)
        asset = db.session.get(Asset, asset_id)
        asset.geocode_state = state
        db.session.commit()
        states[state] = states.get(state, 0) + 1
        if state == GeocodeState.PENDING.value:
            click.echo("geocoder unavailable; the rest wait for the next run", err=True)
            break
    click.echo(f"assets: {states.get('ok', 0)} located, {states.get('not_found', 0)} not found, "
               f"{states.get('pending', 0)} still pending")


@click.command("import-assets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--verbose", is_flag=True, help="List every row, not only the problems.")
@with_appcontext
def import_assets_cmd(file: str, verbose: bool) -> None:
    """Import published assets from CSV (HSDS-style headers) or GeoJSON, by source id."""
    from .assets import RowError, import_assets, read_rows

    with open(file, "rb") as fh:
        data = fh.read()
    try:
        rows = read_rows(data, file)
    except RowError as error:
        raise click.ClickException(f"{file}: {error}") from error
    with click.progressbar(length=len(rows), label="assets") as bar:
        report = import_assets(rows, by_id=None, progress=bar.update)
    for line in report.lines:
        if verbose or "rejected" in line or "skipped" in line:
            click.echo(line)
    click.echo(f"created {report.created}, updated {report.updated}, skipped {report.skipped}, "
               f"rejected {report.rejected}")


@click.command("export-assets")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--category", default="", help="Only this category (slug).")
@with_appcontext
def export_assets_cmd(file: str, category: str) -> None:
    """Write published assets to FILE (.csv or .geojson)."""
    import json

    from .assets import to_csv_chunks, to_geojson
    from .assets_bp.routes import published_query

    rows = db.session.scalars(published_query(category)).all()
    with open(file, "w", encoding="utf-8", newline="") as fh:
        if file.lower().endswith((".geojson", ".json")):
            json.dump(to_geojson(rows), fh, ensure_ascii=False)
        else:
            for chunk in to_csv_chunks(rows):
                fh.write(chunk)
    click.echo(f"{len(rows)} assets written to {file}")


ASSET_NAMES = ["Community Garden", "Library", "Youth Club", "Food Bank", "Church Hall",
               "Repair Café", "Allotments", "Men's Shed", "Leisure Centre", "Baby Group",
               "Corner Shop", "Credit Union", "Pharmacy", "Mosque", "Park", "Choir",
               "Walking Group", "Health Centre", "Museum", "Market"]


def _demo_assets(rng: random.Random, n: int) -> None:
    """Published demo assets scattered over the demo area (bulk insert)."""
    from .assets import categories, seed_asset_categories
    from .models import Asset

    seed_asset_categories()
    db.session.commit()
    cats = [c.id for c in categories()]
    rows = []
    for i in range(n):
        rows.append({
            "name": f"{rng.choice(PLACES)} {rng.choice(ASSET_NAMES)}",
            "category_id": rng.choice(cats), "description": "",
            "latitude": 51.50 + rng.uniform(-0.03, 0.03),
            "longitude": -0.10 + rng.uniform(-0.05, 0.05),
            "geocode_source": "demo", "geocode_state": "ok", "status": "published",
            "open_to_all": rng.random() < 0.8, "step_free": rng.random() < 0.5,
            "source_id": f"demo-{rng.getrandbits(48):012x}-{i}",
            "confirmed_at": utcnow(),
        })
    with click.progressbar(range(0, n, 5000), label="assets") as bar:
        for offset in bar:
            db.session.execute(insert(Asset), rows[offset : offset + 5000])
    db.session.commit()


def _demo_listings(rng: random.Random, member_ids: list[int]) -> None:
    """A few offers and requests so the matching workbench has something to show."""
    from datetime import date, timedelta

    from .models import Category, Listing

    categories = list(db.session.scalars(select(Category)))
    if not categories or not member_ids:
        return
    soon = date.today() + timedelta(days=42)
    for i, member_id in enumerate(member_ids):
        member = db.session.get(Member, member_id)
        category = rng.choice(categories)
        kind = "request" if i % 4 == 0 else "offer"
        title = (f"Help wanted: {category.name.lower()}" if kind == "request"
                 else f"I can help with {category.name.lower()}")
        db.session.add(Listing(member_id=member_id, kind=kind, category_id=category.id,
                               title=title, availability=rng.getrandbits(21),
                               latitude=member.public_latitude,
                               longitude=member.public_longitude, expires_on=soon))
    db.session.commit()
