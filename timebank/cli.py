"""Command-line tools: ``flask --app timebank <command>``. Each calls one domain function."""

from __future__ import annotations

import logging
import sys
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from timebank.core import banks, demo, notify
from timebank.core.assets.files import export_file, import_file, read_category_map
from timebank.core.assets.neighbourhoods import BoundaryError, import_boundaries
from timebank.core.assets.register import locate_pending as locate_assets
from timebank.core.assets.sources import Options, SourceError
from timebank.core.banks import BankError, bank_by_slug, ensure_default_bank
from timebank.core.banks import create_bank as make
from timebank.core.ledger import writer as ledger
from timebank.core.members.service import MemberError, create_active
from timebank.core.members.service import locate_pending as locate_members
from timebank.core.models.skills import seed_categories
from timebank.core.notify import queue_digests, site_context
from timebank.core.texts.inbound import receive
from timebank.infra import clock, geo
from timebank.infra.backup import BackupError, backup, restore
from timebank.infra.extensions import db
from timebank.jobs import JOBS, run_forever, run_job, send_texts
from timebank.jobs import send_mail as send


def register_cli(app: Flask) -> None:
    for command in (create_bank, create_user, add_member, check_ledger, seed_demo,
                    seed_categories_cmd, send_mail, send_sms, receive_text, send_digests,
                    geocode_pending,
                    import_assets_cmd, import_neighbourhoods_cmd, export_assets_cmd,
                    backup_cmd, restore_cmd, run_jobs):
        app.cli.add_command(command)


@contextmanager
def _bar(label: str, total: int):
    with click.progressbar(length=total, label=label) as bar:
        yield bar.update


@click.command("create-bank")
@with_appcontext
@click.option("--slug", required=True, help="Short name for URLs: /b/SLUG/")
@click.option("--name", required=True)
def create_bank(slug: str, name: str) -> None:
    """Create a time bank (with its community pool and clearing account)."""

    try:
        bank = make(slug, name)
    except BankError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created bank {bank.slug} ({bank.name}).")


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["resident", "coordinator", "council", "admin"]),
              default="resident")
@click.option("--name", "display_name", default=None, help="Display name (default: from email)")
@click.option("--neighbourhood", default="")
@click.option("--bank", "bank_slug", default=None,
              help="The bank whose resident or coordinator this is (default: the first bank).")
@click.option("--phone", default=None,
              help="Their mobile (verified): texts from it act as them. E.164 or local.")
def create_user(email: str, role: str, display_name: str | None, neighbourhood: str,
                bank_slug: str | None, phone: str | None) -> None:
    """Create an active member; the password is read from standard input."""

    bank = bank_by_slug(bank_slug) if bank_slug else ensure_default_bank()
    if bank is None:
        raise click.ClickException(f"There is no bank {bank_slug!r}; see create-bank.")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        member = create_active(email, password, role, display_name, neighbourhood, bank,
                               phone=phone)
    except MemberError as error:
        raise click.ClickException(error.message) from error
    where = f" in {bank.slug}" if role in ("resident", "coordinator") else ""
    mobile = f", mobile {member.mobile}" if member.mobile else ""
    click.echo(f"Created {role} {member.email}{where} (member {member.id}{mobile}).")


@click.command("add-member")
@with_appcontext
@click.option("--email", required=True, help="The person's address: they already have a log-in.")
@click.option("--bank", "bank_slug", required=True)
@click.option("--role", type=click.Choice(["resident", "coordinator"]), default="resident")
def add_member(email: str, bank_slug: str, role: str) -> None:
    """Make an existing person a resident or coordinator of another bank (they keep their
    log-in and their other banks). create-user makes new people."""

    bank = bank_by_slug(bank_slug)
    if bank is None:
        raise click.ClickException(f"There is no bank {bank_slug!r}; see create-bank.")
    try:
        with notify.site_context():
            membership = banks.add_member(None, bank, email, role)
    except BankError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{membership.member.email} is now {role} in {bank.slug} "
               f"(member {membership.member_id}).")


@click.command("check-ledger")
@with_appcontext
@click.option("--repair-balances", is_flag=True,
              help="Recompute cached balances from entries and monthly figures from exchanges.")
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
    exchanges, accounts = ledger.counts()
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
@click.option("--banks", "n_banks", default=1, show_default=True,
              type=click.IntRange(1, 1 + len(demo.MORE_BANKS)),
              help="Spread the demo over this many banks, with exchanges between them.")
@click.option("--if-empty", is_flag=True, help="Do nothing when members already exist.")
def seed_demo(n_members: int, n_exchanges: int, n_assets: int, seed: int, n_banks: int,
              if_empty: bool) -> None:
    """Fill the database with demo members and a balanced exchange history."""
    if if_empty and demo.has_members():
        click.echo("The database already has members; not seeding.")
    else:
        with ExitStack() as bars:
            demo.seed(n_members, n_exchanges, n_assets, seed,
                      lambda label, total: bars.enter_context(_bar(label, total)), n_banks)
    logins = demo.logins_present()
    if logins:
        click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for email, role in logins:
            click.echo(f"  {role:<12} {email}")


@click.command("send-mail")
@with_appcontext
@click.option("--limit", default=200, show_default=True)
def send_mail(limit: int) -> None:
    """Send queued e-mail through the TIMEBANK_MAIL_* server; failures stay queued."""

    sent, failed = send(current_app.config, limit)
    click.echo(f"{sent} sent, {failed} failed (left queued for the next run)")
    if failed and not sent:
        sys.exit(1)


@click.command("send-sms")
@with_appcontext
@click.option("--limit", default=200, show_default=True)
def send_sms(limit: int) -> None:
    """Send queued texts through the TIMEBANK_SMS_* gateway; failures are tried again."""

    sent, failed = send_texts(current_app.config, limit)
    click.echo(f"{sent} texts sent, {failed} failed (tried again later)")
    if failed and not sent:
        sys.exit(1)


@click.command("receive-text")
@with_appcontext
@click.option("--from", "sender", required=True, help="The member's mobile, as they text.")
@click.argument("body")
def receive_text(sender: str, body: str) -> None:
    """Take a text as if the gateway posted it (trying texts without one, or an office
    typing in a text its phone received). Replies are queued: see send-sms."""

    receive(f"cli-{uuid.uuid4().hex}", sender, body, clock.utcnow(), clock.today())
    click.echo("Done. Queued replies go with send-sms (and print here in development).")


@click.command("send-digests")
@with_appcontext
def send_digests() -> None:
    """Queue the weekly digest e-mails (then run send-mail)."""

    with site_context():
        queued = queue_digests()
    click.echo(f"{queued} digests queued")


@click.command("run-jobs")
@click.option("--once", is_flag=True, help="One round of every job, then stop.")
@click.option("--job", "names", multiple=True, type=click.Choice([j.name for j in JOBS]),
              help="Run only this job, once, now (repeatable); exits 1 if it failed.")
@with_appcontext
def run_jobs(once: bool, names: tuple[str, ...]) -> None:
    """Send mail, retry the geocoder and queue digests on their schedules until stopped."""


    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()
    if names:
        failed = [job.name for job in JOBS if job.name in names and not run_job(app, job)]
        if failed:
            raise click.ClickException(f"failed: {', '.join(failed)} (see /admin/jobs)")
        return
    run_forever(app, once=once)


@click.command("geocode-pending")
@with_appcontext
def geocode_pending() -> None:
    """Retry geocoding addresses the geocoder could not answer for earlier."""

    coder = geo.geocoder()
    try:
        found, missing = locate_members(coder)
    except geo.GeocoderUnavailable as error:
        click.echo(f"geocoder unavailable ({error}); try again later", err=True)
        sys.exit(1)
    click.echo(f"members: {found} located, {missing} not found")
    states = locate_assets(coder)
    if states.get("pending"):
        click.echo("geocoder unavailable; the rest wait for the next run", err=True)
    click.echo(f"assets: {states.get('ok', 0)} located, {states.get('not_found', 0)} not found, "
               f"{states.get('pending', 0)} still pending")


def _options(maps, category_map, default_category, crs, area=None):

    mapping = {}
    for item in maps:
        field_name, sep, column = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: use FIELD=COLUMN", param_hint="--map")
        mapping[field_name.strip()] = column.strip()
    categories = {}
    if category_map:
        with open(category_map, "rb") as fh:
            categories = read_category_map(fh.read())
    box = None
    if area:
        try:
            box = tuple(float(v) for v in area.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
            raise click.BadParameter("min_lon,min_lat,max_lon,max_lat", param_hint="--area")
    return Options(mapping=mapping, category_map=categories,
                   default_category=default_category or "", crs=crs or "", area=box)


@click.command("import-assets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Which column holds a field (repeatable). Fields: source_id, name, "
                   "description, category, address, postal_code, latitude, longitude, x, y, "
                   "contact, url, opening_hours, accessibility.")
@click.option("--category-map", type=click.Path(exists=True, dir_okay=False),
              help="CSV of: value in the file, category it means.")
@click.option("--default-category", help="Category for rows whose own is empty or unknown.")
@click.option("--crs", help="Coordinate system of the file, e.g. EPSG:27700.")
@click.option("--area", help="Where the places are: min_lon,min_lat,max_lon,max_lat "
                             "(default: TIMEBANK_AREA_BBOX, the bank's area, …).")
@click.option("--outside", type=click.Choice(["hold", "import"]), default="hold",
              help="Rows placed outside the area: hold them back (listed, not imported; "
                   "the default) or import them anyway.")
@click.option("--dry-run", is_flag=True, help="Say what would happen, row by row; change nothing.")
@click.option("--verbose", is_flag=True, help="List every row, not only the problems.")
@with_appcontext
def import_assets_cmd(file: str, maps, category_map, default_category, crs, area,
                      outside: str, dry_run: bool, verbose: bool) -> None:
    """Import published assets from a CSV or GeoJSON register, whatever its columns,
    categories, coordinate system or encoding; a second import updates, never duplicates."""


    try:
        options = _options(maps, category_map, default_category, crs, area)
    except SourceError as error:
        raise click.ClickException(f"{category_map}: {error}") from error
    options.outside = outside
    with open(file, "rb") as fh:
        data = fh.read()
    try:
        prepared, report = import_file(data, Path(file).name, options, None, dry_run=dry_run)
    except SourceError as error:
        raise click.ClickException(f"{file}: {error}") from error
    for note in prepared.notes:
        click.echo(note)
    click.echo("columns: " + ", ".join(f"{k}={v}" for k, v in prepared.mapping.items()))
    for value, how in prepared.category_values.items():
        click.echo(f"category “{value}” → {how}")
    for line in report.lines:
        if (verbose or dry_run or "rejected" in line or "skipped" in line or "held" in line
                or "(" in line):
            click.echo(line)
    click.echo(("dry run, nothing changed: " if dry_run else "") + str(report.summary))


@click.command("import-neighbourhoods")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", help="Coordinate system of the file, e.g. EPSG:27700.")
@click.option("--name-field", default="", help="The property holding each area's name.")
@with_appcontext
def import_neighbourhoods_cmd(file: str, crs: str, name_field: str) -> None:
    """Import ward or neighbourhood boundaries (GeoJSON polygons, any CRS) as named areas."""

    with open(file, "rb") as fh:
        data = fh.read()
    try:
        created, updated, notes = import_boundaries(data, file, crs or "", name_field)
    except BoundaryError as error:
        raise click.ClickException(f"{file}: {error}") from error
    for note in notes:
        click.echo(note)
    click.echo(f"neighbourhoods: created {created}, updated {updated}")


@click.command("export-assets")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--category", default="", help="Only this category (slug).")
@with_appcontext
def export_assets_cmd(file: str, category: str) -> None:
    """Write published assets to FILE (.csv or .geojson)."""

    count = export_file(file, category)
    click.echo(f"{count} assets written to {file}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup_cmd(file: str) -> None:
    """Copy the whole database to FILE (SQLite backup API, or pg_dump custom format)."""

    try:
        backup(db.engine, file)
    except BackupError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Backed up to {file}.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_cmd(file: str) -> None:
    """Load FILE (made by `backup`) into this database, which must be empty."""

    try:
        restore(db.engine, file)
    except BackupError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Restored from {file}; now run check-ledger.")
