"""A large, realistic and repeatable data set: `flask --app wsgi seed --cases N --seed S`.

Everything random comes from one random.Random(seed), and ids are given in order, so the same
seed on the same starting database gives the same people, cases, owners, statuses and
timelines. Times are relative to `now` (pass it too for byte-identical data).

Rows are written with bulk INSERTs (Core executemany), a chunk of cases at a time, so 100,000
cases take a minute or two on SQLite, not hours. Services are not used: they would send mail
and write one row at a time; instead the seeder writes what the services would have written.
"""

import random
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import selectinload
from werkzeug.security import generate_password_hash

from shared.demo import DEMO_PASSWORD, standard_service_level, uk_calendar
from shared.extensions import db
from shared.models import (
    Case,
    CaseStatus,
    Category,
    Commitment,
    CommitmentState,
    EventKind,
    Priority,
    ResolutionOption,
    Role,
    ServiceLevel,
    Task,
    TaskStatus,
    Team,
    TimelineEvent,
    Understanding,
    User,
    Visibility,
    WorkingHours,
    reference_for,
    utcnow,
)

CHUNK = 5_000
HISTORY_DAYS = 730  # cases were raised over the last two years

# --- Vocabulary -------------------------------------------------------------------------------


def _names(spaced: str) -> tuple[str, ...]:
    return tuple(spaced.split())


FIRST_NAMES = _names(
    "Alex Amara Ben Chloe Daniel Ella Femi Grace Harry Isla Jack Jasmine Kai Leah Liam Maya "
    "Mohammed Nia Noah Olivia Omar Priya Rhys Rosie Sam Sofia Tom Uma Viktor Wren Yusuf Zara "
    "Aisha Callum Dylan Erin Finn Georgia Hamza Ivy Joseph Kiran Lucy Mateo Niamh Oscar Poppy "
    "Quentin Ruby Seren Theo Ursula Violet William Xander Yasmin Zoe Bronwen Ciaran Deepa"
)
LAST_NAMES = _names(
    "Adeyemi Ahmed Baker Brown Campbell Chen Clarke Davies Evans Fraser Green Hall Hughes Hussain "
    "Jackson Jones Kaur Khan Kowalski Lewis Li Macdonald Martin Morgan Murphy Nowak Okafor Patel "
    "Price Roberts Robinson Scott Shah Singh Smith Taylor Thomas Thompson Walker Ward Watson "
    "White Williams Wilson Wood Wright Young Begum Byrne Doherty Ellis Fischer Gallagher Ibrahim"
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "post.example")

PRODUCTS = (
    "washing machine", "fridge freezer", "dishwasher", "broadband router", "boiler", "sofa",
    "mattress", "laptop", "mobile phone", "television", "oven", "tumble dryer",
    "kitchen worktop", "smart meter", "bicycle", "garden shed",
)
PROBLEMS = (
    "arrived damaged", "was never delivered", "stopped working after a week",
    "was installed badly", "makes a loud grinding noise", "was the wrong size",
    "leaks water onto the floor", "will not turn on", "arrived with parts missing",
    "was delivered to the wrong address",
)
OTHER_COMPLAINTS = (
    "I was charged twice for my {month} bill.",
    "My direct debit was taken a week early and I went overdrawn.",
    "I was promised a refund of £{amount} and it never arrived.",
    "My bill went up by £{amount} without any warning.",
    "The engineer did not turn up on {weekday} and nobody told me.",
    "I was kept on hold for {minutes} minutes and then cut off.",
    "Nobody called me back on {weekday} as I was promised.",
    "Your driver was rude to my {relative} and left the gate open.",
    "I cancelled my contract in {month} but you are still charging me.",
    "My broadband has dropped out every evening since {month}.",
)
DETAILS = (
    "I have called three times already.",
    "This is the second time this has happened.",
    "I took a day off work to wait in for this.",
    "My order number is ORD-{order}.",
    "I have a young baby at home and need this fixed.",
    "I am disabled and cannot move it myself.",
    "I have photos of the damage if you need them.",
    "Your website said it would be sorted within a day.",
    "",
    "",
)
OUTCOMES = (
    "A full refund.",
    "A replacement, delivered this week.",
    "An engineer visit at a time that suits me.",
    "An apology and compensation for my time.",
    "The duplicate payment refunded.",
    "The charge taken off my account.",
    "Someone to collect it and fix it properly.",
    "",
)
UPDATES = (
    "Thank you for your patience. I have asked our {team} team to look into this today.",
    "I have arranged a replacement and will confirm the delivery date tomorrow.",
    "I have spoken to our supplier; they have agreed to a refund.",
    "I am sorry this has taken longer than it should. Here is where things stand.",
    "I have booked an engineer and will call you to confirm the time.",
)
NOTES = (
    "Customer sounded very upset on the phone; keep them updated daily.",
    "Checked the account: the second payment is a duplicate.",
    "Supplier says the part is back in stock next week.",
    "Second complaint about this courier this month: raise with logistics.",
    "Escalate if no reply from billing by Friday.",
)
REPLIES = (
    "Thank you. When will I hear back?",
    "I still have not received anything.",
    "That date does not work for me; can we do next week?",
    "Attached is the photo of the damage.",
)
PROMISES = (
    "We will call you on {weekday} to confirm the delivery date.",
    "We will send the refund confirmation by email.",
    "Our engineer will phone you before the visit.",
    "We will write to you with the outcome of our investigation.",
)
TASK_TITLES = (
    "Check the payment history and refund the duplicate",
    "Book an engineer visit",
    "Ask the courier for proof of delivery",
    "Arrange a replacement from stock",
    "Confirm the fault with the supplier",
)
REMEDIES = (
    "A full refund to your card within 5 working days.",
    "A replacement delivered on a day of your choice.",
    "A repair by our engineer, plus £30 for the trouble.",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
RELATIVES = ("mother", "father", "partner", "neighbour", "son", "daughter")

PRIORITY_WEIGHTS = ((Priority.LOW, 15), (Priority.NORMAL, 60), (Priority.HIGH, 20),
                    (Priority.URGENT, 5))

# The seeded organisation: teams, with the share of the generated agents each gets.
TEAMS = (
    ("Customer care", 0.5),
    ("Billing", 0.2),
    ("Engineering", 0.1),
    ("Field service", 0.1),
    ("Deliveries", 0.1),
)
# The demo people (the README's sign-ins), so a seeded database works with them too.
DEMO_STAFF = (
    ("admin@example.com", "Ada Admin", Role.ADMIN, None),
    ("morgan@example.com", "Morgan Lee", Role.MANAGER, "Customer care"),
    ("sam@example.com", "Sam Taylor", Role.AGENT, "Customer care"),
    ("priya@example.com", "Priya Shah", Role.AGENT, "Customer care"),
    ("jo@example.com", "Jo Evans", Role.AGENT, "Billing"),
    ("dev@example.com", "Dev Patel", Role.AGENT, "Engineering"),
    ("kim@example.com", "Kim Novak", Role.AGENT, "Field service"),
)
# name, description, default team, service level, weight
CATEGORIES = (
    ("Billing and payments", "A charge, a refund, a bill you did not expect.", "Billing",
     "Standard", 25),
    ("Delivery or installation", "Something late, missing, damaged or badly fitted.",
     "Deliveries", "Standard", 25),
    ("A faulty product", "Something that broke, does not work, or is unsafe.",
     "Customer care", "Standard", 20),
    ("Our service or staff", "How you were treated, or a promise we did not keep.",
     "Customer care", "Standard", 12),
    ("Broadband or phone line", "Slow, dropping out, or not working at all.", "Engineering",
     "Extended hours", 8),
    ("Engineer visit", "A visit that was missed, late or did not fix things.", "Field service",
     "Extended hours", 6),
    ("Something else", "Anything else: we want to hear about it.", "Customer care", "Standard",
     4),
)


class SeedRefused(Exception):
    """The database already has cases and appending was not asked for."""


@dataclass
class SeedReport:
    cases: int = 0
    customers: int = 0
    staff: int = 0
    events: int = 0
    tasks: int = 0
    commitments: int = 0
    options: int = 0
    seconds: float = 0.0
    created_organisation: bool = False


@dataclass
class _Org:
    """What cases are made of, read once."""

    teams: dict[int, str]
    agents_by_team: dict[int, list[tuple[int, str]]]  # team id -> [(user id, name)]
    fixer_teams: list[int]
    categories: list[dict]  # id, name, team_id, weight, calendar, targets
    category_weights: list[int]
    staff_count: int


@dataclass
class _Ids:
    """The next id of each table: ids are given here, in order, so references are known."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


_TABLES = {
    "users": User,
    "cases": Case,
    "timeline_events": TimelineEvent,
    "tasks": Task,
    "commitments": Commitment,
    "resolution_options": ResolutionOption,
}


def seed_database(
    cases: int,
    seed: int,
    *,
    append: bool = False,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Add `cases` cases (and their customers) to the database, and commit."""
    started = timer.perf_counter()
    say = progress or (lambda message: None)
    if cases < 0:
        raise ValueError("the number of cases cannot be negative")
    existing = db.session.scalar(select(func.count()).select_from(Case))
    if existing and not append:
        raise SeedRefused(
            f"This database already has {existing} cases. Seeding adds to an empty database;"
            " use --append to add more cases to this one."
        )
    now = now or utcnow()
    rng = random.Random(seed)
    # One hash for every seeded account: hashing is deliberately slow.
    password_hash = generate_password_hash(DEMO_PASSWORD)
    report = SeedReport()

    report.created_organisation = _ensure_organisation(rng, password_hash, now)
    org = _load_organisation()
    report.staff = org.staff_count
    ids = _Ids({name: _next_id(model) for name, model in _TABLES.items()})

    customer_count = max(1, round(cases * 0.75))
    customers = _insert_customers(rng, ids, customer_count, password_hash, now)
    report.customers = len(customers)
    say(f"{len(customers)} customers")

    builder = _CaseBuilder(rng, org, customers, now)
    made = 0
    while made < cases:
        batch = min(CHUNK, cases - made)
        rows = _Rows()
        for _ in range(batch):
            builder.build(ids, rows)
        rows.write()
        db.session.commit()
        made += batch
        report.events += len(rows.events)
        report.tasks += len(rows.tasks)
        report.commitments += len(rows.commitments)
        report.options += len(rows.options)
        say(f"{made} cases")
    report.cases = made
    _advance_postgres_sequences()
    db.session.commit()
    report.seconds = timer.perf_counter() - started
    return report


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _advance_postgres_sequences() -> None:
    """Ids were given explicitly: move PostgreSQL's sequences past them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


# --- The organisation ---------------------------------------------------------------------------


def _ensure_organisation(rng: random.Random, password_hash: str, now: datetime) -> bool:
    """Teams, staff, calendars, service levels and categories, unless categories exist."""
    if db.session.scalar(select(func.count()).select_from(Category)):
        return False
    teams = {}
    for name, _share in TEAMS:
        team = db.session.scalar(select(Team).where(Team.name == name)) or Team(name=name)
        db.session.add(team)
        teams[name] = team
    db.session.flush()

    def person(email, name, role, team_name, **fields):
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name, role=role, email_verified_at=now, **fields)
            user.password_hash = password_hash
            db.session.add(user)
        user.team = teams.get(team_name) if team_name else None
        return user

    for email, name, role, team_name in DEMO_STAFF:
        person(email, name, role, team_name)
    for team_name, _share in TEAMS:
        if team_name != "Customer care":
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            slug = team_name.lower().replace(" ", "-")
            person(f"manager.{slug}@staff.example", f"{first} {last}", Role.MANAGER, team_name)
    # Enough agents that each owns a believable number of open cases (added to later seeds).
    agents = 40
    for number in range(agents):
        team_name = _weighted(rng, [(name, share) for name, share in TEAMS])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # A few have left (their open cases are unassigned), a few are away.
        person(
            f"{first.lower()}.{last.lower()}.{number}@staff.example",
            f"{first} {last}",
            Role.AGENT,
            team_name,
            active=number % 17 != 5,
            away=number % 13 == 7,
        )
    db.session.flush()
    for team in teams.values():
        manager = db.session.scalar(
            select(User).where(User.team_id == team.id, User.role == Role.MANAGER)
        )
        team.manager = manager

    standard_calendar = uk_calendar()
    standard = standard_service_level(standard_calendar)
    extended_calendar = uk_calendar()
    extended_calendar.name = "Extended hours"
    extended_calendar.hours = [
        WorkingHours(weekday=day, opens=time(8), closes=time(20)) for day in range(6)
    ]
    extended = standard_service_level(extended_calendar)
    extended.name = "Extended hours"
    levels = {"Standard": standard, "Extended hours": extended}
    db.session.add_all(levels.values())
    for position, (name, description, team_name, level, _weight) in enumerate(CATEGORIES):
        db.session.add(
            Category(
                name=name,
                description=description,
                position=position,
                default_team=teams[team_name],
                service_level=levels[level],
            )
        )
    db.session.commit()
    return True


def _load_organisation() -> _Org:
    teams = dict(db.session.execute(select(Team.id, Team.name)).all())
    staff = db.session.execute(
        select(User.id, User.name, User.team_id, User.role)
        .where(User.role.in_([Role.AGENT, Role.MANAGER, Role.ADMIN]))
        .order_by(User.id)
    ).all()
    agents_by_team: dict[int, list[tuple[int, str]]] = {}
    for user in staff:
        if user.role == Role.AGENT and user.team_id is not None:
            agents_by_team.setdefault(user.team_id, []).append((user.id, user.name))
    categories = db.session.scalars(
        select(Category)
        .options(
            selectinload(Category.service_level).selectinload(ServiceLevel.targets),
            selectinload(Category.service_level).selectinload(ServiceLevel.calendar),
        )
        .order_by(Category.id)
    ).all()
    weights = {name: weight for name, *_rest, weight in CATEGORIES}
    category_rows = []
    for category in categories:
        level = category.service_level
        category_rows.append(
            {
                "id": category.id,
                "name": category.name,
                "team_id": category.default_team_id,
                "calendar": level.calendar.business_calendar(),
                "targets": {t.priority: t for t in level.targets},
            }
        )
    if not category_rows:
        raise SeedRefused("There are no categories to raise cases in.")
    team_ids = [tid for tid in teams if agents_by_team.get(tid)]
    if not team_ids:
        raise SeedRefused("There are no agents in any team to own the cases.")
    fixers = [tid for tid, name in teams.items() if name != "Customer care"] or team_ids
    return _Org(
        teams=teams,
        agents_by_team=agents_by_team,
        fixer_teams=fixers,
        categories=category_rows,
        category_weights=[weights.get(c["name"], 5) for c in category_rows],
        staff_count=len(staff),
    )


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


# --- Customers ---------------------------------------------------------------------------------


def _insert_customers(rng, ids: _Ids, count: int, password_hash: str, now: datetime):
    """Customers in bulk; returns [(id, name, email)]."""
    customers, rows = [], []
    for _ in range(count):
        user_id = ids.take("users")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        email = f"{first.lower()}.{last.lower()}.{user_id}@{rng.choice(EMAIL_DOMAINS)}"
        joined = now - timedelta(days=rng.uniform(0, HISTORY_DAYS + 30))
        rows.append(
            {
                "id": user_id,
                "email": email,
                "name": name,
                "role": Role.CUSTOMER.value,
                # Every seeded customer can sign in with the demo password.
                "password_hash": password_hash,
                "email_verified_at": joined,
                "active": True,
                "away": False,
                "team_id": None,
                "created_at": joined,
                "last_login_at": None,
            }
        )
        customers.append((user_id, name, email))
        if len(rows) == CHUNK:
            db.session.execute(insert(User), rows)
            rows = []
    if rows:
        db.session.execute(insert(User), rows)
    db.session.commit()
    return customers


# --- Cases -------------------------------------------------------------------------------------


class _Rows:
    def __init__(self):
        self.cases, self.events, self.tasks, self.commitments, self.options = [], [], [], [], []

    def write(self) -> None:
        for model, rows in (
            (Case, self.cases),
            (TimelineEvent, self.events),
            (Task, self.tasks),
            (Commitment, self.commitments),
            (ResolutionOption, self.options),
        ):
            if rows:
                # Core executemany: no ORM objects, no per-row round trips.
                db.session.execute(insert(model.__table__), rows)


# Calendar days a case of each priority usually takes to put right (the targets are 2 to 15
# working days); some run late.
TYPICAL_DAYS = {Priority.LOW: 12, Priority.NORMAL: 8, Priority.HIGH: 4, Priority.URGENT: 1.5}


class _CaseBuilder:
    def __init__(self, rng: random.Random, org: _Org, customers, now: datetime):
        self.rng = rng
        self.org = org
        self.customers = customers
        self.now = now
        self.next_unused_customer = 0

    def _customer(self):
        # Every customer gets a first case; later cases go to customers at random.
        if self.next_unused_customer < len(self.customers):
            self.next_unused_customer += 1
            return self.customers[self.next_unused_customer - 1]
        return self.rng.choice(self.customers)

    def build(self, ids: _Ids, rows: _Rows) -> None:
        rng, now = self.rng, self.now
        case_id = ids.take("cases")
        customer_id, customer_name, customer_email = self._customer()
        category = rng.choices(self.org.categories, weights=self.org.category_weights)[0]
        priority = _weighted(rng, PRIORITY_WEIGHTS)
        calendar = category["calendar"]
        target = category["targets"][priority]
        team_id = category["team_id"]
        handoffs = 0
        if rng.random() < 0.06 or not self.org.agents_by_team.get(team_id):
            team_id = rng.choice([t for t in self.org.agents_by_team if self.org.agents_by_team[t]])
            handoffs = 1
        owner_id, owner_name = rng.choice(self.org.agents_by_team[team_id])

        # Recent cases are more common than old ones: complaints come in steadily, and the
        # newest are the open ones the queues show.
        age = timedelta(days=HISTORY_DAYS * rng.random() ** 1.3)
        created = now - age
        acknowledge_due = calendar.add_business_minutes(created, target.acknowledge_minutes)
        first_due = calendar.add_business_minutes(created, target.first_response_minutes)
        resolve_due = calendar.add_business_minutes(created, target.resolve_minutes)

        # How long each step took: mostly in time, some late, a few stuck.
        speed = rng.lognormvariate(0, 0.5)
        stuck = rng.random() < 0.01
        acknowledged = created + (acknowledge_due - created) * min(3.0, speed * rng.random())
        first_reply = acknowledged + (first_due - created) * min(3.0, speed * rng.random())
        resolve_days = TYPICAL_DAYS[priority] * speed * (8 if stuck else 1)
        resolved = max(first_reply, created + timedelta(days=resolve_days))
        closed = resolved + timedelta(days=rng.uniform(0.2, 10))

        status = CaseStatus.NEW
        acknowledged_at = first_responded_at = resolved_at = closed_at = None
        if acknowledged <= now:
            status, acknowledged_at = CaseStatus.ACKNOWLEDGED, acknowledged
        if first_reply <= now:
            status, first_responded_at = CaseStatus.IN_PROGRESS, first_reply
            if rng.random() < 0.25:
                status = CaseStatus.WAITING_ON_CUSTOMER
        if resolved <= now:
            status, resolved_at = CaseStatus.RESOLVED, resolved
            # Most customers confirm; the others leave it resolved.
            if closed <= now and rng.random() < 0.7:
                status, closed_at = CaseStatus.CLOSED, closed

        is_open = resolved_at is None
        last_touch = first_responded_at or acknowledged_at or created
        next_update_due = None
        if is_open:
            if acknowledged_at is None:
                next_update_due = acknowledge_due
            else:
                # Some owners have written since; some have let the case go quiet.
                if rng.random() < 0.6:
                    last_touch = last_touch + (now - last_touch) * rng.random()
                next_update_due = calendar.add_business_minutes(
                    last_touch, target.update_every_minutes
                )

        description, desired_outcome = _complaint(rng)
        contact_name = customer_name
        understanding, understanding_state = None, Understanding.NONE.value
        if acknowledged_at is not None and rng.random() < 0.4:
            understanding = f"You want {desired_outcome[:1].lower()}{desired_outcome[1:]}"
            understanding = understanding if desired_outcome else "You want this put right."
            understanding_state = rng.choice(
                [Understanding.PROPOSED, Understanding.CONFIRMED, Understanding.CONFIRMED,
                 Understanding.CORRECTED]
            ).value
        rated = status == CaseStatus.CLOSED and rng.random() < 0.6
        rating = rng.choices([1, 2, 3, 4, 5], weights=[5, 7, 15, 35, 38])[0] if rated else None
        updated_at = max(t for t in (created, acknowledged_at, first_responded_at, resolved_at,
                                     closed_at) if t is not None)
        rows.cases.append(
            {
                "id": case_id,
                "reference": reference_for(case_id),
                "status": status.value,
                "priority": priority.value,
                "customer_id": customer_id,
                "contact_name": contact_name,
                "contact_email": customer_email,
                "on_behalf_of": None,
                "representative_relationship": None,
                "category_id": category["id"],
                "team_id": team_id,
                "owner_id": owner_id,
                "handoff_count": handoffs,
                "description": description,
                "desired_outcome": desired_outcome,
                "external_reference": f"ORD-{rng.randrange(10000, 99999)}"
                if rng.random() < 0.3 else None,
                "created_at": created,
                "updated_at": updated_at,
                "acknowledge_due_at": acknowledge_due,
                "first_response_due_at": first_due,
                "resolve_due_at": resolve_due,
                "next_update_due_at": next_update_due,
                "acknowledged_at": acknowledged_at,
                "first_responded_at": first_responded_at,
                "resolved_at": resolved_at,
                "closed_at": closed_at,
                "resolution": "We put it right: " + (desired_outcome or "as agreed.")
                if resolved_at else None,
                "understanding": understanding,
                "understanding_state": understanding_state,
                "understanding_correction": "It was two payments, not one."
                if understanding_state == Understanding.CORRECTED else None,
                "merged_into_id": None,
                "version": 1,
                "rating": rating,
                "rating_comment": rng.choice(["Sorted quickly, thank you.", "", "Took too long."])
                if rated else None,
                "rated_at": closed_at if rated else None,
            }
        )

        events = _Timeline(ids, rows.events, case_id)
        events.add(created, EventKind.CREATED, customer_id, body=description,
                   data={"category": category["name"], "desired_outcome": desired_outcome})
        events.add(created, EventKind.ASSIGNED, None,
                   body=f"{owner_name} is looking after this complaint.",
                   data={"owner_id": owner_id, "owner": owner_name, "automatic": True})
        if acknowledged_at:
            events.add(acknowledged_at, EventKind.ACKNOWLEDGED, owner_id,
                       body=f"{owner_name} acknowledged your complaint.")
        if first_responded_at:
            team_name = self.org.teams.get(team_id, "specialist")
            events.add(first_responded_at, EventKind.UPDATE, owner_id,
                       body=rng.choice(UPDATES).format(team=team_name.lower()))
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                moment = first_responded_at + (
                    (resolved_at or now) - first_responded_at) * rng.random()
                kind, visibility, actor, body = rng.choice(
                    (
                        (EventKind.NOTE, Visibility.INTERNAL, owner_id, rng.choice(NOTES)),
                        (EventKind.CUSTOMER_REPLY, Visibility.PUBLIC, customer_id,
                         rng.choice(REPLIES)),
                        (EventKind.UPDATE, Visibility.PUBLIC, owner_id, rng.choice(UPDATES)
                         .format(team="specialist")),
                    )
                )
                events.add(moment, kind, actor, body=body, visibility=visibility)
            if status == CaseStatus.WAITING_ON_CUSTOMER:
                events.add(first_responded_at, EventKind.STATUS_CHANGED, owner_id,
                           body="Status: Waiting for your reply.",
                           data={"from": "in_progress", "to": "waiting_on_customer"})
            if understanding:
                events.add(first_responded_at, EventKind.UNDERSTANDING_PROPOSED, owner_id,
                           body=understanding)

        if acknowledged_at and rng.random() < 0.2:
            self._tasks(ids, rows, events, case_id, owner_id, acknowledged_at, resolved_at)
        if acknowledged_at and rng.random() < 0.15:
            self._commitment(ids, rows, events, case_id, owner_id, acknowledged_at, resolved_at)
        if resolved_at:
            if rng.random() < 0.3:
                self._options(ids, rows, events, case_id, owner_id, first_responded_at,
                              resolved_at)
            events.add(resolved_at, EventKind.RESOLVED, owner_id,
                       body="We put it right: " + (desired_outcome or "as agreed."))
        if closed_at:
            events.add(closed_at, EventKind.CLOSED, customer_id,
                       body="You confirmed that this is put right.")
            if rating:
                events.add(closed_at, EventKind.RATED, customer_id, body=f"Rated {rating} of 5",
                           data={"rating": rating})
        events.flush()

    def _tasks(self, ids, rows, events, case_id, owner_id, start, resolved_at):
        rng, now = self.rng, self.now
        for _ in range(rng.choice((1, 1, 2))):
            team_id = rng.choice(self.org.fixer_teams)
            members = self.org.agents_by_team.get(team_id) or []
            assignee_id = rng.choice(members)[0] if members and rng.random() < 0.5 else None
            created = start + timedelta(hours=rng.uniform(0, 24))
            due = created + timedelta(days=rng.uniform(1, 5))
            if resolved_at is not None:
                status = TaskStatus.DONE if rng.random() < 0.9 else TaskStatus.CANCELLED
                completed = min(resolved_at, due)
            else:
                status = rng.choice((TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE))
                completed = min(now, due) if status == TaskStatus.DONE else None
            title = rng.choice(TASK_TITLES)
            rows.tasks.append(
                {
                    "id": ids.take("tasks"),
                    "case_id": case_id,
                    "title": title,
                    "details": "",
                    "team_id": team_id,
                    "assignee_id": assignee_id,
                    "status": status.value,
                    "due_at": due,
                    "created_by_id": owner_id,
                    "created_at": created,
                    "updated_at": completed or created,
                    "completed_at": completed,
                    "outcome": "Done." if status == TaskStatus.DONE else None,
                }
            )
            events.add(created, EventKind.TASK_CREATED, owner_id, body=title,
                       visibility=Visibility.INTERNAL)

    def _commitment(self, ids, rows, events, case_id, owner_id, start, resolved_at):
        rng, now = self.rng, self.now
        made = start + timedelta(hours=rng.uniform(0, 48))
        due = made + timedelta(days=rng.uniform(0.5, 6))
        state, settled = CommitmentState.OPEN, None
        if resolved_at is not None or (due < now and rng.random() < 0.6):
            state = CommitmentState.KEPT if rng.random() < 0.85 else CommitmentState.BROKEN
            settled = min(due, resolved_at or now)
        description = rng.choice(PROMISES).format(weekday=rng.choice(WEEKDAYS))
        rows.commitments.append(
            {
                "id": ids.take("commitments"),
                "case_id": case_id,
                "description": description,
                "due_at": due,
                "state": state.value,
                "made_by_id": owner_id,
                "created_at": made,
                "settled_at": settled,
                "settled_note": None,
            }
        )
        events.add(made, EventKind.COMMITMENT_MADE, owner_id, body=description)
        if settled:
            kind = (EventKind.COMMITMENT_KEPT if state == CommitmentState.KEPT
                    else EventKind.COMMITMENT_BROKEN)
            events.add(settled, kind, owner_id, body=description)

    def _options(self, ids, rows, events, case_id, owner_id, start, resolved_at):
        rng = self.rng
        offered = start + (resolved_at - start) * rng.random()
        chosen = rng.randrange(2)
        for number, remedy in enumerate(rng.sample(REMEDIES, 2)):
            rows.options.append(
                {
                    "id": ids.take("resolution_options"),
                    "case_id": case_id,
                    "description": remedy,
                    "offered_by_id": owner_id,
                    "offered_at": offered,
                    "chosen_at": resolved_at if number == chosen else None,
                    "withdrawn_at": None,
                }
            )
        events.add(offered, EventKind.OPTIONS_OFFERED, owner_id, body="Ways to put it right")


class _Timeline:
    """A case's events, given ids in time order (the timeline is read in id order)."""

    def __init__(self, ids: _Ids, out: list, case_id: int):
        self.ids, self.out, self.case_id, self.pending = ids, out, case_id, []

    def add(self, moment, kind, actor_id, *, body="", data=None,
            visibility=Visibility.PUBLIC) -> None:
        self.pending.append((moment, len(self.pending), kind, actor_id, body, data, visibility))

    def flush(self) -> None:
        for moment, _order, kind, actor_id, body, data, visibility in sorted(
            self.pending, key=lambda event: (event[0], event[1])
        ):
            self.out.append(
                {
                    "id": self.ids.take("timeline_events"),
                    "case_id": self.case_id,
                    "kind": kind.value,
                    "visibility": visibility.value,
                    "actor_id": actor_id,
                    "created_at": moment,
                    "body": body,
                    "data": data or {},
                }
            )
        self.pending = []


def _complaint(rng: random.Random) -> tuple[str, str]:
    month, weekday = rng.choice(MONTHS), rng.choice(WEEKDAYS)
    if rng.random() < 0.55:
        first = f"My {rng.choice(PRODUCTS)} {rng.choice(PROBLEMS)} on {weekday}."
    else:
        first = rng.choice(OTHER_COMPLAINTS).format(
            month=month,
            amount=rng.randrange(15, 400),
            weekday=weekday,
            minutes=rng.randrange(20, 95),
            relative=rng.choice(RELATIVES),
        )
    detail = rng.choice(DETAILS).format(order=rng.randrange(10000, 99999))
    description = f"{first}\n{detail}" if detail else first
    return description, rng.choice(OUTCOMES)

