"""Demo data: believable members, a balanced exchange history, listings and assets.

Used by `flask seed-demo` (and so `make run`) and by the benchmarks. Writes
through the ledger's bulk path, so `check-ledger` holds afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, insert, select

from timebank.core import banks, checks, events
from timebank.core import ideas as idea_service
from timebank.core.assets.register import categories as asset_categories
from timebank.core.assets.register import seed_asset_categories
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    Asset,
    Bank,
    Category,
    Idea,
    Listing,
    Match,
    Member,
    Membership,
    MemberStatus,
    Role,
)
from timebank.core.models.base import utcnow
from timebank.core.models.members import TRADING_ROLES
from timebank.core.models.skills import seed_categories
from timebank.infra import cache, clock, geo, passwords
from timebank.infra.extensions import db

Progress = Callable[[int], None] | None

DEMO_PASSWORD = "timebank-demo"  # noqa: S105 - published demo logins, documented in README
DEMO_MOBILES = ("+447700900001", "+447700900002")
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
# What was done, with the kind of help it is, so statements and reports read true.
WHAT_KINDS = {"Helped with the garden": "gardening", "Fixed a shelf": "diy",
              "Lift to the clinic": "lifts", "Shopping trip": "shopping",
              "Phone set-up": "tech", "Cup of tea and a chat": "befriending",
              "Helped fill in a form": "admin", "Walked the dog": "pets",
              "Cooked a meal": "cooking", "Sewing repair": "crafts",
              "Homework help": "learning", "Language practice": "languages"}
WHAT = list(WHAT_KINDS)


# Each kind of place with the category it belongs to, so the map's key tells the truth.
ASSET_KINDS = {"Community Garden": "physical", "Library": "institutions",
               "Youth Club": "associations", "Food Bank": "services", "Church Hall": "physical",
               "Repair Café": "associations", "Allotments": "physical",
               "Men's Shed": "associations", "Leisure Centre": "institutions",
               "Baby Group": "associations", "Corner Shop": "economy",
               "Credit Union": "economy", "Pharmacy": "services", "Mosque": "culture",
               "Park": "physical", "Choir": "culture", "Walking Group": "associations",
               "Health Centre": "services", "Museum": "culture", "Market": "economy"}
STREETS = ["High Street", "Mill Lane", "Church Road", "Station Road", "Park Avenue",
           "Victoria Road", "Bridge Street", "Chapel Row", "Orchard Way", "King Street"]



# Banks the demo adds after the install's first one (``--banks N``).
MORE_BANKS = [("hillcrest", "Hillcrest Time Bank"), ("parkfield", "Parkfield Time Bank"),
              ("market-ward", "Market Ward Time Bank")]
INTERBANK_EXCHANGES = 12


def seed(n_members: int, n_exchanges: int, n_assets: int, seed: int,
         progress: Callable[[str, int], Progress] | None = None, n_banks: int = 1) -> None:
    """Demo logins, ``n_members`` more members, a history of ``n_exchanges``, listings, assets,
    spread over ``n_banks`` banks with a few exchanges between them.

    ``progress(label, total)`` may return a callback to report progress with.
    """
    def bar(label: str, total: int) -> Progress:
        return progress(label, total) if progress else None

    rng = random.Random(seed)
    seed_categories()
    first = banks.ensure_default_bank()
    all_banks = [first]
    for slug, name in MORE_BANKS[: max(0, n_banks - 1)]:
        all_banks.append(banks.bank_by_slug(slug) or banks.create_bank(slug, name))
    db.session.commit()
    logins = demo_logins(rng, first)
    login_ids = [m.id for m in logins
                 if m.role_in(first.id) in TRADING_ROLES and not m.is_admin]
    people = bulk_members(rng, n_members, bar("members", n_members))
    share = -(-len(people) // len(all_banks)) if people else 0
    for i, bank in enumerate(all_banks):
        member_ids = people[i * share : (i + 1) * share]
        join_bulk(member_ids, bank)
        if i == 0:
            member_ids = login_ids + member_ids
        accounts = ledger.open_accounts_bulk(member_ids, bank.id)
        history(rng, accounts, n_exchanges // len(all_banks),
                bar(f"exchanges ({bank.slug})", n_exchanges // len(all_banks)))
        listings(rng, member_ids[: min(len(member_ids), 60)], bank.id)
    if len(all_banks) > 1:
        between_banks(rng, all_banks, people, share)
    if n_assets:
        assets(rng, n_assets)
    a_real_day(random.Random(seed + 1), first, logins, people[:share])


def _days_ago(days: int, hours: int = 0):
    return utcnow() - timedelta(days=days, hours=hours)


def a_real_day(rng: random.Random, bank: Bank, logins: list[Member],
               people: list[int]) -> None:
    """What a coordinator finds on a real morning, so the demo's work queue is not empty:
    two applications, a request waiting a week, an exchange unconfirmed for a week, an
    unanswered introduction, a suggested asset, a listing about to end, a quiet member,
    and a few ideas. Each through the models the site itself writes."""

    if len(people) < 6:
        return
    by_email = {m.email: m for m in logins}
    resident = by_email["resident@example.org"]
    coordinator = by_email["coordinator@example.org"]
    categories = {c.slug: c for c in db.session.scalars(select(Category))}
    # Two neighbours who applied this week, their addresses confirmed.
    for name, place in (("Gwen Morgan", "Old Town"), ("Tariq Hussain", "Parkfield")):
        member = Member(email=f"{name.split()[0].lower()}.applicant@example.org",
                        display_name=name, install_role=Role.RESIDENT,
                        status=MemberStatus.PENDING, neighbourhood=place,
                        email_verified_at=_days_ago(1), skills="Baking, dog walking",
                        **_location(rng))
        member.set_password(DEMO_PASSWORD)
        db.session.add(member)
        db.session.flush()
        banks.join(member, bank, "resident", MemberStatus.PENDING)
    neighbours = [db.session.get(Member, i) for i in people[:6]]
    # Two mobiles from Ofcom's range for drama (never a real phone), to try texts with
    # `flask --app timebank receive-text --from +447700900001 BAL`.
    for member, number in ((resident, DEMO_MOBILES[0]), (neighbours[0], DEMO_MOBILES[1])):
        if db.session.scalar(select(Member.id).where(Member.mobile == number)) is None:
            member.mobile, member.mobile_verified_at = number, _days_ago(30)
    soon = clock.today() + timedelta(days=42)
    # A request nobody has answered for ten days.
    waiting = Listing(bank_id=bank.id, member_id=neighbours[0].id, kind="request",
                      category_id=categories["diy"].id, title="Help putting up a curtain rail",
                      availability=rng.getrandbits(21), expires_on=soon,
                      latitude=neighbours[0].public_latitude,
                      longitude=neighbours[0].public_longitude)
    # An offer that ends in three days.
    ending = Listing(bank_id=bank.id, member_id=neighbours[1].id, kind="offer",
                     category_id=categories["cooking"].id, title="Batch cooking for the freezer",
                     availability=rng.getrandbits(21),
                     expires_on=clock.today() + timedelta(days=3),
                     latitude=neighbours[1].public_latitude,
                     longitude=neighbours[1].public_longitude)
    # A request the coordinator introduced a helper to, eight days ago, with no answer yet.
    asked = Listing(bank_id=bank.id, member_id=neighbours[2].id, kind="request",
                    category_id=categories["tech"].id, title="Setting up video calls",
                    availability=rng.getrandbits(21), expires_on=soon)
    db.session.add_all([waiting, ending, asked])
    db.session.flush()
    waiting.created_at = _days_ago(10)
    db.session.add(Match(bank_id=bank.id, request_id=asked.id, requester_id=neighbours[2].id,
                         helper_id=neighbours[3].id, created_by_id=coordinator.id,
                         note="Both live near the park.", created_at=_days_ago(8)))
    # A suggestion for the asset map, waiting for a coordinator's look.
    asset_kinds = {c.slug: c.id for c in asset_categories()}
    db.session.add(Asset(name="Riverside Repair Café", category_id=asset_kinds["associations"],
                         description="Monthly, in the church hall: bring what is broken.",
                         address_1="Church Road", city="Riverside", status="proposed",
                         submitted_by_id=resident.id, latitude=51.501, longitude=-0.098,
                         geocode_source="demo", geocode_state="ok"))
    # A neighbour who joined in spring and has not exchanged since.
    quiet = Member(email="quiet.neighbour@example.org", display_name="Idris Bevan",
                   install_role=Role.RESIDENT, status=MemberStatus.ACTIVE,
                   neighbourhood="Hillcrest", email_verified_at=_days_ago(200),
                   **_location(rng))
    quiet.set_password(DEMO_PASSWORD)
    db.session.add(quiet)
    db.session.flush()
    membership = banks.join(quiet, bank, "resident", MemberStatus.ACTIVE)
    membership.created_at = membership.approved_at = _days_ago(200)
    ledger.open_account(quiet, bank.id)
    # Ideas for the area, as residents put them.
    ideas = []
    for proposer, title, need, builds_on in (
            (resident, "A tool library in the old library", "Most of us own a drill we use "
             "once a year.", "The empty room behind Riverside Library; the Men's Shed."),
            (neighbours[4], "Warm space on winter afternoons", "Some neighbours sit in the "
             "cold to save on heating.", "The church hall is free on weekdays."),
            (neighbours[5], "Homework club at the youth club", "Children without a quiet "
             "place to study.", "Members who offer homework help.")):
        ideas.append(Idea(title=title, need=need, builds_on=builds_on,
                          proposer_id=proposer.id, show_name=True))
    db.session.add_all(ideas)
    db.session.commit()
    # An event in the diary: a co-design session about the first idea, ten days ahead,
    # with the demo resident signed up (those who come are credited from the pool).

    start = clock.now().replace(hour=18, minute=30, second=0, microsecond=0)
    meeting = idea_service.schedule(coordinator, bank.id, [ideas[0].id], {
        "title": "Planning the tool library", "place": "Riverside Library, back room",
        "helpers_wanted": 12, "helper_minutes": 90, "starts_at": start + timedelta(days=10),
        "accessibility": "Step-free entrance; hearing loop"})
    events.sign_up(meeting, resident, True, clock.utcnow())
    # A litter pick that wants helpers (earning from the pool) and welcomes anyone, and
    # a kind of help that needs a check before anyone gives it.
    community = db.session.scalar(select(Category.id).where(Category.slug == "community"))
    events.post(coordinator, bank.id, {
        "title": "Riverside litter pick", "place": "Meet at the boathouse",
        "purpose": "Clearing the towpath before the summer fair. Gloves and pickers "
                   "provided; tea afterwards.",
        "starts_at": start.replace(hour=10) + timedelta(days=4),
        "ends_at": start.replace(hour=12) + timedelta(days=4),
        "accessibility": "Flat path; benches every 200 m", "helpers_wanted": 4,
        "helper_minutes": 120, "places": 30, "category_id": community})
    childcare = db.session.scalar(select(Category.id).where(Category.slug == "childcare"))
    checks.set_required(childcare, ["dbs", "references"], coordinator)
    db.session.commit()
    # An exchange recorded nine days ago that the demo resident has not yet confirmed.
    giver = ledger.open_account(neighbours[3], bank.id)
    receiver = ledger.open_account(resident, bank.id)
    db.session.commit()
    recorded = ledger.record_exchange(
        giver=giver, receiver=receiver, minutes=90,
        service_date=clock.today() - timedelta(days=9), recorded_by=neighbours[3],
        idempotency_key=f"demo-day-{rng.getrandbits(64):016x}", confirm=False,
        category_id=categories["gardening"].id, description="Helped with the garden")
    recorded.exchange.created_at = _days_ago(9)
    db.session.commit()


def logins_present() -> list[tuple[str, Role]]:
    """The demo logins that exist in this database, in their usual order."""
    existing = set(db.session.scalars(
        select(Member.email).where(Member.email.in_([e for e, _n, _r in DEMO_LOGINS]))))
    return [(email, role) for email, _name, role in DEMO_LOGINS if email in existing]


def has_members() -> bool:
    return bool(db.session.scalar(select(func.count(Member.id))))


def _member_names(rng: random.Random, n: int) -> list[str]:
    """``n`` different names: first and last names, then with a middle initial."""
    taken = set(db.session.scalars(select(Member.display_name)))
    names = [f"{first} {last}" for first in FIRST for last in LAST]
    names += [f"{first} {initial}. {last}" for initial in "ABCDEFGHJKLMNPRSTW"
              for first in FIRST for last in LAST]
    rng.shuffle(names)
    names = [name for name in names if name not in taken]
    while len(names) < n:  # a city's worth: numbered beyond the combinations
        names.append(f"{names[len(names) % 9000]} {len(names)}")
    return names[:n]


def demo_logins(rng: random.Random, bank: Bank) -> list[Member]:
    made = []
    for email, name, role in DEMO_LOGINS:
        member = db.session.scalar(select(Member).where(Member.email == email))
        if member is None:
            install_role = role if role in (Role.ADMIN, Role.COUNCIL) else Role.RESIDENT
            member = Member(email=email, display_name=name, install_role=install_role,
                            status=MemberStatus.ACTIVE, neighbourhood=PLACES[0],
                            email_verified_at=utcnow(),
                            skills="Gardening, baking", availability="Weekday mornings",
                            **_location(rng))
            member.set_password(DEMO_PASSWORD)
            db.session.add(member)
            db.session.flush()
        if role in (Role.RESIDENT, Role.COORDINATOR):
            banks.join(member, bank, role, MemberStatus.ACTIVE)
        made.append(member)
    db.session.commit()
    return made


def join_bulk(member_ids: list[int], bank: Bank) -> None:
    """Active resident memberships of ``bank`` for many members at once."""
    now = utcnow()
    # Joined over three years, as a real bank's members did (not all this minute: the
    # helpers' newcomers and every "since" figure would be about everyone).
    joined = [now - timedelta(days=(n * 7919) % 1095, minutes=n % 1440)
              for n in range(len(member_ids))]
    rows = [{"member_id": m, "bank_id": bank.id, "role": "resident", "status": "active",
             "created_at": when, "approved_at": when}
            for m, when in zip(member_ids, joined, strict=True)]
    for offset in range(0, len(rows), 5000):
        db.session.execute(insert(Membership), rows[offset : offset + 5000])
    cache.bump(cache.CANDIDATES)  # Core inserts pass the ORM's watch
    db.session.commit()


def between_banks(rng: random.Random, all_banks: list[Bank], people: list[int],
                  share: int) -> None:
    """A few exchanges between members of different banks, through the ledger itself."""
    if share < 1:
        return
    admin = db.session.scalar(select(Member).where(Member.install_role == Role.ADMIN))
    for member_id in people[:share]:
        db.session.get(Member, member_id).findable_elsewhere = True
    db.session.commit()
    for _ in range(INTERBANK_EXCHANGES):
        a, b = rng.sample(range(len(all_banks)), 2)
        giver_ids = people[a * share : (a + 1) * share]
        receiver_ids = people[b * share : (b + 1) * share]
        if not giver_ids or not receiver_ids:
            continue
        giver = ledger.open_account(db.session.get(Member, rng.choice(giver_ids)),
                                    all_banks[a].id)
        receiver = ledger.open_account(db.session.get(Member, rng.choice(receiver_ids)),
                                       all_banks[b].id)
        db.session.commit()
        try:
            ledger.record_exchange(giver=giver, receiver=receiver, minutes=60,
                                   service_date=clock.today(), recorded_by=admin or receiver.member,
                                   idempotency_key=f"demo-{rng.getrandbits(64):016x}",
                                   confirm=True, description=rng.choice(WHAT))
        except ledger.LedgerError:
            continue  # a floor or a cap: the demo simply has one exchange fewer


def _location(rng: random.Random) -> dict:
    """A private point in the demo area, and the ~500 m cell others may see."""
    lat, lon = 51.50 + rng.uniform(-0.03, 0.03), -0.10 + rng.uniform(-0.05, 0.05)
    public_lat, public_lon = geo.public_point(lat, lon)
    return {"latitude": lat, "longitude": lon, "public_latitude": public_lat,
            "public_longitude": public_lon}


def bulk_members(rng: random.Random, n: int, progress: Progress = None) -> list[int]:
    if n <= 0:
        return []
    # One shared hash: hashing thousands of passwords one by one would take minutes.
    shared_hash = passwords.make(DEMO_PASSWORD)
    tag = rng.getrandbits(32)
    rows = []
    verified = utcnow()
    names = _member_names(rng, n)
    for i in range(n):
        rows.append({
            "email": f"member{i + 1}.{tag:08x}@example.org",
            "display_name": names[i],
            "password_hash": shared_hash,
            "install_role": Role.RESIDENT,
            "status": MemberStatus.ACTIVE, "email_verified_at": verified,
            "neighbourhood": rng.choice(PLACES),
            "bio": "", "skills": rng.choice(WHAT), "availability": "", "phone": "",
            **_location(rng),
        })
    ids: list[int] = []
    for offset in range(0, n, 5000):
        ids += db.session.scalars(
            insert(Member).returning(Member.id), rows[offset : offset + 5000]
        ).all()
        if progress:
            progress(len(rows[offset : offset + 5000]))
    cache.bump(cache.CANDIDATES)  # Core inserts pass the ORM's watch
    db.session.commit()
    return ids


def history(rng: random.Random, accounts: dict[int, tuple[int, int | None]], n: int,
            progress: Progress = None, batch: int = 5000) -> int:
    """``n`` random confirmed exchanges between ``accounts``, never crossing a floor."""
    if n <= 0 or len(accounts) < 2:
        return 0
    ids = list(accounts)
    balance = {a: accounts[a][0] for a in ids}
    floors = {a: accounts[a][1] for a in ids}
    kind_ids = dict(db.session.execute(select(Category.slug, Category.id)).all())
    today = clock.today()
    made = 0
    while made < n:
        chosen: list[ledger.BulkExchange] = []
        while len(chosen) < min(batch, n - made):
            giver, receiver = rng.sample(ids, 2)
            minutes = rng.choice((30, 45, 60, 60, 90, 120, 180))
            floor = floors[receiver]
            if floor is not None and balance[receiver] - minutes < floor:
                continue
            balance[receiver] -= minutes
            balance[giver] += minutes
            what = rng.choice(WHAT)
            chosen.append(ledger.BulkExchange(
                giver_account_id=giver, receiver_account_id=receiver, minutes=minutes,
                service_date=today - timedelta(days=rng.randint(0, 365)),
                category_id=kind_ids.get(WHAT_KINDS[what]), description=what,
                idempotency_key=f"seed-{rng.getrandbits(96):024x}"))
        made += ledger.post_confirmed_bulk(chosen)
        db.session.commit()
        if progress:
            progress(len(chosen))
    return made


def _asset_names(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` distinct names ("Riverside Library", then "Library, Mill Lane, Riverside"),
    each with its category's slug."""
    kinds = list(ASSET_KINDS.items())
    named = [(f"{place} {kind}", slug) for place in PLACES for kind, slug in kinds]
    named += [(f"{kind}, {street}, {place}", slug) for street in STREETS for place in PLACES
              for kind, slug in kinds]
    rng.shuffle(named)
    while len(named) < n:  # more than the demo area has streets for
        named.append((f"{named[len(named) % 1200][0]} ({len(named)})",
                      named[len(named) % 1200][1]))
    return named[:n]


def assets(rng: random.Random, n: int) -> None:
    """Published demo assets scattered over the demo area (bulk insert)."""
    seed_asset_categories()
    db.session.commit()
    category_of = {c.slug: c.id for c in asset_categories()}
    rows = []
    for i, (name, kind) in enumerate(_asset_names(rng, n)):
        rows.append({
            "name": name, "category_id": category_of[kind], "description": "",
            "latitude": 51.50 + rng.uniform(-0.03, 0.03),
            "longitude": -0.10 + rng.uniform(-0.05, 0.05),
            "geocode_source": "demo", "geocode_state": "ok", "status": "published",
            "open_to_all": rng.random() < 0.8, "step_free": rng.random() < 0.5,
            "source_id": f"demo-{rng.getrandbits(48):012x}-{i}",
            "confirmed_at": utcnow(),
        })
    for offset in range(0, n, 5000):
        db.session.execute(insert(Asset), rows[offset : offset + 5000])
    cache.bump(cache.REGISTER)  # Core inserts pass the ORM's watch
    db.session.commit()


def listings(rng: random.Random, member_ids: list[int], bank_id: int) -> None:
    """A few offers and requests so the matching workbench has something to show."""
    categories = list(db.session.scalars(select(Category)))
    if not categories or not member_ids:
        return
    soon = clock.today() + timedelta(days=42)
    for i, member_id in enumerate(member_ids):
        member = db.session.get(Member, member_id)
        category = rng.choice(categories)
        kind = "request" if i % 4 == 0 else "offer"
        # Lower-cased mid-sentence, but never an initialism ("DIY", not "diy").
        words = category.name if category.name[:2].isupper() else (
            category.name[:1].lower() + category.name[1:])
        title = f"Help wanted: {words}" if kind == "request" else f"I can help with {words}"
        db.session.add(Listing(bank_id=bank_id, member_id=member_id, kind=kind,
                               category_id=category.id,
                               title=title, availability=rng.getrandbits(21),
                               latitude=member.public_latitude,
                               longitude=member.public_longitude, expires_on=soon))
    db.session.commit()
