"""A large, realistic and repeatable data set: `flask --app wsgi seed --cases N --seed S`.

Everything random comes from one random.Random(seed), and ids are given in order, so the same
seed on the same starting database gives the same people, cases, owners, statuses and
timelines. Times are relative to `now` (pass it too for byte-identical data).

Rows are written with bulk INSERTs (Core executemany), a chunk of cases at a time, so 100,000
cases take a minute or two on SQLite, not hours. Services are not used: they would send mail
and write one row at a time; instead the seeder writes what the services would have written.
"""

import math
import random
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import selectinload
from werkzeug.security import generate_password_hash

from shared.demo import DEMO_PASSWORD, standard_service_level, uk_calendar
from shared.extensions import db
from shared.models import (
    Calendar,
    Case,
    CaseStatus,
    Category,
    CauseArea,
    Commitment,
    CommitmentState,
    EventKind,
    Outcome,
    Priority,
    Problem,
    ProblemCase,
    ProblemEvent,
    ProblemEventKind,
    ProblemStatus,
    Product,
    Redress,
    RedressKind,
    RedressState,
    ResolutionOption,
    Role,
    RootCause,
    ServiceLevel,
    Task,
    TaskStatus,
    Team,
    TimelineEvent,
    Understanding,
    User,
    Visibility,
    WorkingHours,
    problem_reference,
    reference_for,
    utcnow,
)
from shared.spikes import HISTORY_WEEKS as SPIKE_HISTORY_WEEKS
from shared.spikes import spike_threshold

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


# --- What complaints tell us -------------------------------------------------------------------

# Areas with their causes, and how often each is the cause within its area: a few causes
# account for most complaints, so the Pareto of causes has a clear "vital few".
CAUSE_AREAS = (
    ("Delivery", (("Carrier missed the slot", 8.0, False), ("Parcel damaged", 2.0, False),
                  ("Wrong address", 1.0, False))),
    ("Billing", (("Double charge", 6.0, False), ("Tariff change not applied", 3.0, False),
                 ("Refund not processed", 1.5, False))),
    ("Product", (("Stopped working", 5.0, False), ("Faulty on arrival", 2.0, False))),
    ("Service", (("Promise not kept", 4.0, False), ("Rude or unhelpful", 1.0, False))),
    ("Other", (("Other", 1.0, True),)),
)
# Where the cause of a complaint in each category usually lies (the rest: anywhere).
CATEGORY_AREAS = {
    "Billing and payments": "Billing",
    "Delivery or installation": "Delivery",
    "A faulty product": "Product",
    "Our service or staff": "Service",
    "Broadband or phone line": "Product",
    "Engineer visit": "Service",
    "Something else": "Other",
}
CAUSE_IN_ITS_AREA = 0.85
OTHER_CAUSE_WORDS = (
    "The customer's bank returned the payment twice.",
    "A storm closed the depot for two days.",
    "Our website showed last year's price.",
    "The supplier changed the part without telling us.",
    "A letter went to the customer's old address.",
)
PRODUCT_NAMES = tuple(name[:1].upper() + name[1:] for name in PRODUCTS)
OPEN_CASES_WITH_A_PRODUCT = 0.85
# Outcomes of resolved cases; withdrawn complaints get no redress.
OUTCOME_WEIGHTS = ((Outcome.UPHELD, 45), (Outcome.PARTLY_UPHELD, 25),
                   (Outcome.NOT_UPHELD, 25), (Outcome.WITHDRAWN, 5))
# kind, descriptions, amount range in pounds (money kinds)
REDRESS_CHOICES = {
    RedressKind.REFUND: (("A refund of the delivery charge.", "A refund of the duplicate payment.",
                          "A refund for the faulty item."), (15, 400)),
    RedressKind.COMPENSATION: (("Compensation for the day you took off work.",
                                "Compensation for the missed appointment."), (25, 200)),
    RedressKind.GOODWILL: (("A goodwill payment for the trouble.",
                            "A goodwill payment as a thank-you for your patience."), (10, 75)),
    RedressKind.REPAIR: (("A repair by our engineer at no cost.",), None),
    RedressKind.REPLACEMENT: (("A replacement delivered on a day of your choice.",), None),
    RedressKind.APOLOGY: (("A written apology from the team manager.",
                           "An apology on the phone from the team manager."), None),
    RedressKind.EXPLANATION: (("An explanation of how the charge was worked out.",
                               "An explanation of what went wrong and why."), None),
    RedressKind.PROCESS_CHANGE: (("We changed how we book delivery slots.",), None),
}
REDRESS_BY_OUTCOME = {
    Outcome.UPHELD: ((RedressKind.REFUND, 30), (RedressKind.APOLOGY, 25),
                     (RedressKind.COMPENSATION, 12), (RedressKind.GOODWILL, 12),
                     (RedressKind.REPLACEMENT, 10), (RedressKind.REPAIR, 8),
                     (RedressKind.PROCESS_CHANGE, 3)),
    Outcome.PARTLY_UPHELD: ((RedressKind.APOLOGY, 35), (RedressKind.GOODWILL, 30),
                            (RedressKind.EXPLANATION, 20), (RedressKind.REFUND, 15)),
    Outcome.NOT_UPHELD: ((RedressKind.EXPLANATION, 85), (RedressKind.GOODWILL, 15)),
}
# Redress authority: what seeded staff may give on one case without a manager's approval.
AGENT_REDRESS_LIMIT_MINOR = 50_00
MANAGER_REDRESS_LIMIT_MINOR = 500_00

# The problems behind many complaints, each owned by the team that can fix them:
# title, description, what the customer is told, owning team, cause, status, opened days ago,
# days from opening to each later status.
PROBLEM_PLANS = (
    ("Carrier missing booked delivery slots",
     "Our main carrier has missed about one booked slot in ten since it changed its routes.",
     "Our delivery partner changed its routes and missed booked slots. We have moved your area"
     " to another carrier, so your deliveries arrive on the day you book.",
     "Deliveries", "Carrier missed the slot", ProblemStatus.INVESTIGATING, 24, ()),
    ("Tariff changes not reaching the billing system",
     "Customers who changed tariff online kept being billed on the old one.",
     "When you changed your tariff online, our billing system kept the old one. We have fixed"
     " the link between the two and corrected your bills.",
     "Billing", "Tariff change not applied", ProblemStatus.FIX_PLANNED, 50,
     ((ProblemStatus.FIX_PLANNED, 12),)),
    ("Direct debits taken twice after a bank holiday",
     "The payment run repeated itself after the August bank holiday.",
     "After a bank holiday our payment run took some direct debits twice. We have fixed the"
     " run, and every second payment has been refunded.",
     "Billing", "Double charge", ProblemStatus.FIXED, 40,
     ((ProblemStatus.FIX_PLANNED, 6), (ProblemStatus.FIXED, 30))),
    ("Parcels crushed at the northern depot",
     "A faulty conveyor at the northern depot damaged parcels for six weeks.",
     "A faulty conveyor at one of our depots damaged parcels. It has been replaced.",
     "Deliveries", "Parcel damaged", ProblemStatus.CONFIRMED_FIXED, 150,
     ((ProblemStatus.FIX_PLANNED, 10), (ProblemStatus.FIXED, 35),
      (ProblemStatus.CONFIRMED_FIXED, 70))),
    ("Engineers not calling before a visit",
     "Customers are not called on the morning of a visit, so some miss the engineer.",
     "",
     "Field service", "Promise not kept", ProblemStatus.WONT_FIX, 100,
     ((ProblemStatus.WONT_FIX, 20),)),
)
WONT_FIX_REASON = ("The new booking system texts every customer the evening before and an hour"
                   " before the visit; a call as well adds nothing.")
PROBLEM_LINKS_MAX = 60
# Cases raised this long before a problem was opened may be linked to it when it is.
PROBLEM_LOOKBACK = timedelta(days=30)

# The spike the pattern pages should find: a burst this week of one product failing.
SPIKE_CATEGORY = "A faulty product"
SPIKE_PRODUCT = "Washing machine"
SPIKE_CAUSE = "Stopped working"
SPIKE_DESCRIPTIONS = (
    "My new washing machine stopped mid-cycle with a full drum of water and shows error E21.",
    "The washing machine I bought last month will not drain and now will not turn on.",
    "Our washing machine stopped working halfway through a wash on {weekday}: error E21.",
    "My washing machine shows E21 and stops every time it tries to spin.",
)
SPIKE_MINIMUM = 6  # above the spike rule's minimum count, whatever the history
SPIKE_MARGIN = 3
# Complaints come in steadily over the last weeks (so no week stands out on its own); further
# back there were fewer, as the business was smaller.
FLAT_HISTORY = timedelta(weeks=SPIKE_HISTORY_WEEKS + 1)
RAMP_END = timedelta(weeks=26)


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
    redress: int = 0
    problems: int = 0
    problem_links: int = 0
    spike_cases: int = 0
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
    managers_by_team: dict[int, int] = field(default_factory=dict)  # team id -> manager id
    zone: ZoneInfo = ZoneInfo("Europe/London")  # the first calendar's: weeks start there


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
    "redress": Redress,
    "problems": Problem,
    "problem_events": ProblemEvent,
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

    learning = _ensure_learning_lists()
    problems = _plan_problems(rng, ids, org, learning, now)
    say(f"{len(learning.cause_ids)} causes, {len(learning.product_ids)} products,"
        f" {len(problems)} problems")

    customer_count = max(1, round(cases * 0.75))
    customers = _insert_customers(rng, ids, customer_count, password_hash, now)
    report.customers = len(customers)
    say(f"{len(customers)} customers")

    watch = _SpikeWatch.for_(org, learning, now)
    builder = _CaseBuilder(rng, org, customers, now, learning, problems,
                           link_chance=min(1.0, 2000 / max(cases, 1)), watch=watch)

    def counted(rows: "_Rows") -> None:
        rows.write()
        db.session.commit()
        report.events += len(rows.events)
        report.tasks += len(rows.tasks)
        report.commitments += len(rows.commitments)
        report.options += len(rows.options)
        report.redress += len(rows.redress)
        report.problem_links += len(rows.problem_links)

    # The last cases made are this week's burst, once they are just enough to be a spike.
    made = 0
    while made < cases:
        rows = _Rows()
        for _ in range(min(CHUNK, cases - made)):
            if watch and (report.spike_cases
                          or watch.burst_begins(cases - made, cases, made)):
                builder.build(ids, rows, **watch.burst_case(rng))
                report.spike_cases += 1
            else:
                builder.build(ids, rows)
            made += 1
        counted(rows)
        say(f"{made} cases")
    if report.spike_cases:
        say(f"the last {report.spike_cases} of them this week: {SPIKE_PRODUCT.lower()}s"
            f" that {SPIKE_CAUSE.lower()}, a spike")
    report.cases = made
    _write_problem_events(ids, problems)
    report.problems = len(problems)
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
            limit = (MANAGER_REDRESS_LIMIT_MINOR if role == Role.MANAGER
                     else AGENT_REDRESS_LIMIT_MINOR if role == Role.AGENT else 0)
            user = User(email=email, name=name, role=role, email_verified_at=now,
                        redress_limit_minor=limit, **fields)
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
    managers_by_team = {
        team_id: manager_id
        for team_id, manager_id in db.session.execute(select(Team.id, Team.manager_id)).all()
        if manager_id is not None
    }
    zone = db.session.scalar(select(Calendar.timezone).order_by(Calendar.id).limit(1))
    return _Org(
        teams=teams,
        agents_by_team=agents_by_team,
        fixer_teams=fixers,
        categories=category_rows,
        category_weights=[weights.get(c["name"], 5) for c in category_rows],
        staff_count=len(staff),
        managers_by_team=managers_by_team,
        zone=ZoneInfo(zone or "Europe/London"),
    )


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _age(rng: random.Random) -> timedelta:
    """How long ago a case was raised: at a steady rate over the last weeks, fewer before."""
    return timedelta(days=_AGE_DAYS(rng.random()))


def _age_curve() -> Callable[[float], float]:
    """The inverse of the share of cases younger than a given age, in days.

    The old curve, HISTORY_DAYS * u ** 1.3, has F(a) = (a / HISTORY_DAYS) ** (1 / 1.3) of the
    cases younger than a days, ever more of them the nearer to now, so every week beat the
    ones before and the spike rule would flag it. Now: the last FLAT_HISTORY weeks at F's
    rate of its first week (a steady rate: only a real burst is a spike), then a linear fall
    to RAMP_END, then F's own shape, scaled to meet the ramp, back to HISTORY_DAYS."""

    def share(days: float) -> float:
        return (days / HISTORY_DAYS) ** (1 / 1.3)

    def density(days: float) -> float:
        return share(days) / days / 1.3

    flat_days, ramp_end = FLAT_HISTORY.days, RAMP_END.days
    ramp_days = ramp_end - flat_days
    rate = share(7) / 7
    flat = rate * flat_days
    # The ramp ends at the rate `low`, where the scaled tail takes over:
    # low * (1 - F(end)) / f(end) + flat + (rate + low) / 2 * ramp_days = 1.
    low = (1 - flat - rate * ramp_days / 2) / (
        (1 - share(ramp_end)) / density(ramp_end) + ramp_days / 2
    )
    ramp = (rate + low) / 2 * ramp_days
    slope = (rate - low) / ramp_days

    def age_days(u: float) -> float:
        if u < flat:
            return u / rate
        if u < flat + ramp:
            # Solve rate * x - slope * x ** 2 / 2 = u - flat for the days x into the ramp.
            return flat_days + (rate - math.sqrt(rate * rate - 2 * slope * (u - flat))) / slope
        tail = (u - flat - ramp) / (1 - flat - ramp)
        return HISTORY_DAYS * (share(ramp_end) + tail * (1 - share(ramp_end))) ** 1.3

    return age_days


_AGE_DAYS = _age_curve()


# --- Causes, products, problems and the spike ---------------------------------------------------


@dataclass
class _Learning:
    """The managed lists, read once; causes chosen by the area a category's causes lie in."""

    cause_ids: list[int]
    cause_weights: list[float]
    causes_by_area: dict[str, tuple[list[int], list[float]]]
    asks_for_words: set[int]
    cause_by_name: dict[str, int]
    product_ids: list[int]
    product_weights: list[float]
    product_by_name: dict[str, int]  # lower-case name -> id
    cause_names: dict[int, str]  # id -> "Area → cause", as the timeline reads it
    product_names: dict[int, str]

    def learning_words(self, outcome: str, cause_id: int, cause_words: str | None,
                       product_id: int | None) -> str:
        """The internal "what we learned" entry, as resolving writes it."""
        cause = self.cause_names[cause_id] + (f" ({cause_words})" if cause_words else "")
        parts = [f"Outcome: {Outcome(outcome).label.lower()}", f"Cause: {cause}"]
        if product_id is not None:
            parts.append(f"Product: {self.product_names[product_id]}")
        return ". ".join(parts) + "."

    def cause_for(self, rng: random.Random, category_name: str) -> int:
        area = self.causes_by_area.get(CATEGORY_AREAS.get(category_name, ""))
        if area and rng.random() < CAUSE_IN_ITS_AREA:
            return rng.choices(area[0], weights=area[1])[0]
        return rng.choices(self.cause_ids, weights=self.cause_weights)[0]

    def product_for(self, rng: random.Random, mentioned: str | None) -> int:
        if mentioned and mentioned.lower() in self.product_by_name:
            return self.product_by_name[mentioned.lower()]
        return rng.choices(self.product_ids, weights=self.product_weights)[0]


def _ensure_learning_lists() -> _Learning:
    """Cause areas, causes and products: the seed's own unless the database has some."""
    if not db.session.scalar(select(func.count()).select_from(CauseArea)):
        for position, (area_name, causes) in enumerate(CAUSE_AREAS):
            area = CauseArea(name=area_name, position=position)
            area.causes = [
                RootCause(name=name, asks_for_words=words, position=number)
                for number, (name, _weight, words) in enumerate(causes)
            ]
            db.session.add(area)
    if not db.session.scalar(select(func.count()).select_from(Product)):
        db.session.add_all(
            Product(name=name, position=position) for position, name in enumerate(PRODUCT_NAMES)
        )
    db.session.commit()

    weights = {name: weight for _area, causes in CAUSE_AREAS for name, weight, _w in causes}
    rows = db.session.execute(
        select(RootCause.id, RootCause.name, RootCause.asks_for_words, CauseArea.name)
        .join(CauseArea, RootCause.area_id == CauseArea.id)
        .where(RootCause.retired_at.is_(None), CauseArea.retired_at.is_(None))
        .order_by(CauseArea.position, RootCause.position, RootCause.id)
    ).all()
    if not rows:
        raise SeedRefused("There are no live root causes to resolve cases with.")
    by_area: dict[str, tuple[list[int], list[float]]] = {}
    for cause_id, name, _words, area_name in rows:
        ids, area_weights = by_area.setdefault(area_name, ([], []))
        ids.append(cause_id)
        area_weights.append(weights.get(name, 1.0))
    # Every area's share of causes picked at random is its share of complaints by category.
    products = db.session.execute(
        select(Product.id, Product.name).where(Product.retired_at.is_(None))
        .order_by(Product.position, Product.id)
    ).all()
    if not products:
        raise SeedRefused("There are no live products for cases to be about.")
    return _Learning(
        cause_ids=[row[0] for row in rows],
        cause_weights=[weights.get(row[1], 1.0) for row in rows],
        causes_by_area=by_area,
        asks_for_words={row[0] for row in rows if row[2]},
        cause_by_name={row[1]: row[0] for row in rows},
        product_ids=[row[0] for row in products],
        # The first products in the list sell most, so draw most complaints.
        product_weights=[1 / math.sqrt(position + 1) for position in range(len(products))],
        product_by_name={row[1].lower(): row[0] for row in products},
        cause_names={row[0]: f"{row[3]} → {row[1]}" for row in rows},
        product_names={row[0]: row[1] for row in products},
    )


@dataclass
class _PlannedProblem:
    """A problem written before the cases; cases with its cause are linked as they are made."""

    id: int
    title: str
    cause_id: int
    team_id: int
    owner_id: int
    opened_at: datetime
    open_until: datetime  # links are made until it is closed (or now)
    events: list[tuple] = field(default_factory=list)  # (moment, kind, actor, body, data)
    links: int = 0

    @property
    def reference(self) -> str:
        return problem_reference(self.id)


def _plan_problems(rng, ids: _Ids, org: _Org, learning: _Learning,
                   now: datetime) -> dict[int, list[_PlannedProblem]]:
    """PROBLEM_PLANS as rows, with their statuses' history; keyed by cause for linking."""
    team_by_name = {name: team_id for team_id, name in org.teams.items()}
    staffed = [team_id for team_id in org.teams if org.agents_by_team.get(team_id)]
    planned: dict[int, list[_PlannedProblem]] = {}
    rows = []
    for (title, description, summary, team_name, cause_name, status, opened_days,
         steps) in PROBLEM_PLANS:
        cause_id = learning.cause_by_name.get(cause_name)
        if cause_id is None or not staffed:
            continue
        team_id = team_by_name.get(team_name)
        if team_id not in staffed:
            team_id = staffed[len(rows) % len(staffed)]
        members = org.agents_by_team[team_id]
        owner_id = members[rng.randrange(len(members))][0]
        opener = org.managers_by_team.get(team_id, owner_id)
        opened = now - timedelta(days=opened_days, hours=rng.uniform(0, 6))
        problem = _PlannedProblem(ids.take("problems"), title, cause_id, team_id, owner_id,
                                  opened, now)
        problem.events.append((opened, ProblemEventKind.CREATED, opener, title, {}))
        moments = {"fixed_at": None, "confirmed_fixed_at": None, "closed_at": None}
        previous = ProblemStatus.INVESTIGATING
        for step, days in steps:
            moment = opened + timedelta(days=days, hours=rng.uniform(0, 4))
            body = f"Status: {step.label}."
            data = {"from": previous.value, "to": step.value}
            if step == ProblemStatus.WONT_FIX:
                body, data["reason"] = f"Status: {step.label}. {WONT_FIX_REASON}", WONT_FIX_REASON
            problem.events.append((moment, ProblemEventKind.STATUS_CHANGED, owner_id, body, data))
            if step == ProblemStatus.FIXED:
                moments["fixed_at"] = moment
                problem.events.append(
                    (moment, ProblemEventKind.NOTE, owner_id,
                     "The fix is live. Case owners: tell your customers (a task is on each"
                     " open case).", {})
                )
            if step == ProblemStatus.CONFIRMED_FIXED:
                moments["confirmed_fixed_at"] = moments["closed_at"] = moment
            if step == ProblemStatus.WONT_FIX:
                moments["closed_at"] = moment
            previous = step
        problem.open_until = moments["closed_at"] or now
        rows.append(
            {
                "id": problem.id,
                "title": title,
                "description": description,
                "customer_summary": summary,
                "status": status.value,
                "wont_fix_reason": WONT_FIX_REASON if status == ProblemStatus.WONT_FIX else None,
                "team_id": team_id,
                "owner_id": owner_id,
                "root_cause_id": cause_id,
                "category_id": None,
                "product_id": None,
                "created_by_id": opener,
                "created_at": opened,
                "updated_at": max(event[0] for event in problem.events),
                "version": 1 + len(steps),
                **moments,
            }
        )
        planned.setdefault(cause_id, []).append(problem)
    if rows:
        db.session.execute(insert(Problem.__table__), rows)
        db.session.commit()
    return planned


def _write_problem_events(ids: _Ids, planned: dict[int, list[_PlannedProblem]]) -> None:
    """Each problem's timeline in time order (it is read in id order)."""
    rows = []
    for problems in planned.values():
        for problem in problems:
            for moment, kind, actor_id, body, data in sorted(
                problem.events, key=lambda event: event[0]
            ):
                rows.append(
                    {
                        "id": ids.take("problem_events"),
                        "problem_id": problem.id,
                        "kind": kind.value,
                        "actor_id": actor_id,
                        "created_at": moment,
                        "body": body,
                        "data": data,
                    }
                )
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(ProblemEvent.__table__), rows[start:start + CHUNK])
    db.session.commit()


def _week_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone)


class _SpikeWatch:
    """Counts, as cases are made, the spike category's and product's complaints this week so
    far and in the 8 full weeks before; says when the cases still to make are just enough for
    the spike rule (this week so far above the Poisson upper limit of the weeks before) to flag
    both, and makes those cases the burst."""

    def __init__(self, org: _Org, learning: _Learning, now: datetime):
        self.category = next(c for c in org.categories if c["name"] == SPIKE_CATEGORY)
        self.product_id = learning.product_by_name[SPIKE_PRODUCT.lower()]
        self.cause_id = learning.cause_by_name[SPIKE_CAUSE]
        self.now = now
        self.week_start = _week_start(now, org.zone)
        self.history_start = self.week_start - timedelta(weeks=SPIKE_HISTORY_WEEKS)
        # A Monday just after midnight leaves the burst a little room.
        self.burst_start = min(self.week_start, now - timedelta(minutes=30))
        self.counts = {}
        for key, condition in (("category", Case.category_id == self.category["id"]),
                               ("product", Case.product_id == self.product_id)):
            self.counts[key] = [
                db.session.scalar(
                    select(func.count()).select_from(Case)
                    .where(condition, Case.created_at >= start, Case.created_at < end)
                )
                for start, end in ((self.history_start, self.week_start), (self.week_start, now))
            ]
        self.need, self.checked_at = self._needed(), 0

    @classmethod
    def for_(cls, org: _Org, learning: _Learning, now: datetime) -> "_SpikeWatch | None":
        if (all(c["name"] != SPIKE_CATEGORY for c in org.categories)
                or SPIKE_PRODUCT.lower() not in learning.product_by_name
                or SPIKE_CAUSE not in learning.cause_by_name):
            return None
        return cls(org, learning, now)

    def count(self, category_id: int, product_id: int | None, created: datetime) -> None:
        if self.history_start <= created < self.week_start:
            span = 0
        elif self.week_start <= created <= self.now:
            span = 1
        else:
            return
        if category_id == self.category["id"]:
            self.counts["category"][span] += 1
        if product_id == self.product_id:
            self.counts["product"][span] += 1

    def _needed(self) -> int:
        def short_of(before: int, this_week: int) -> int:
            threshold = spike_threshold(before / SPIKE_HISTORY_WEEKS)
            return max(threshold + 1, SPIKE_MINIMUM) - this_week

        return max(short_of(*self.counts["category"]), short_of(*self.counts["product"]),
                   0) + SPIKE_MARGIN

    def burst_begins(self, left: int, total: int, made: int) -> bool:
        """Whether the `left` cases still to make should all be the burst. A small seed gets
        no spike: it would be most of its cases."""
        if left <= self.need + 50 or made - self.checked_at >= 200:
            self.need, self.checked_at = self._needed(), made
        return left <= self.need <= total // 10

    def burst_case(self, rng: random.Random) -> dict:
        span = self.now - self.burst_start - timedelta(minutes=5)
        # More of them in the last days: the fault spreads as more machines reach it.
        return {"category": self.category,
                "created": self.burst_start + span * rng.random() ** 0.6,
                "spike": (self.cause_id, self.product_id)}


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
        self.redress, self.problem_links = [], []

    def write(self) -> None:
        for model, rows in (
            (Case, self.cases),
            (TimelineEvent, self.events),
            (Task, self.tasks),
            (Commitment, self.commitments),
            (ResolutionOption, self.options),
            (Redress, self.redress),
            (ProblemCase, self.problem_links),
        ):
            if rows:
                # Core executemany: no ORM objects, no per-row round trips.
                db.session.execute(insert(model.__table__), rows)


# Calendar days a case of each priority usually takes to put right (the targets are 2 to 15
# working days); some run late.
TYPICAL_DAYS = {Priority.LOW: 12, Priority.NORMAL: 8, Priority.HIGH: 4, Priority.URGENT: 1.5}


class _CaseBuilder:
    def __init__(self, rng: random.Random, org: _Org, customers, now: datetime,
                 learning: _Learning, problems: dict[int, list[_PlannedProblem]],
                 link_chance: float, watch: _SpikeWatch | None = None):
        self.watch = watch
        self.rng = rng
        self.org = org
        self.customers = customers
        self.now = now
        self.learning = learning
        self.problems = problems
        self.link_chance = link_chance
        self.next_unused_customer = 0

    def _customer(self):
        # Every customer gets a first case; later cases go to customers at random.
        if self.next_unused_customer < len(self.customers):
            self.next_unused_customer += 1
            return self.customers[self.next_unused_customer - 1]
        return self.rng.choice(self.customers)

    def build(self, ids: _Ids, rows: _Rows, *, category: dict | None = None,
              created: datetime | None = None, spike: tuple[int, int] | None = None) -> None:
        """One case; `spike` (cause id, product id) makes it one of this week's burst."""
        rng, now = self.rng, self.now
        case_id = ids.take("cases")
        customer_id, customer_name, customer_email = self._customer()
        category = category or rng.choices(self.org.categories,
                                           weights=self.org.category_weights)[0]
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
        created = created or now - _age(rng)
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

        description, desired_outcome, mentioned = _complaint(rng)
        if spike:
            description = rng.choice(SPIKE_DESCRIPTIONS).format(weekday=rng.choice(WEEKDAYS))
            desired_outcome = rng.choice(("A working washing machine.", "A replacement.",
                                          "An engineer visit this week."))
        # What resolving records: the cause is what was wrong all along (so a problem about it
        # links open cases too); it is written on the case when it is resolved.
        learning = self.learning
        if spike:
            cause_id, product_id = spike
        else:
            cause_id = learning.cause_for(rng, category["name"])
            product_id = learning.product_for(rng, mentioned)
            if resolved_at is None and rng.random() >= OPEN_CASES_WITH_A_PRODUCT:
                product_id = None
        if self.watch:
            self.watch.count(category["id"], product_id, created)
        outcome = cause_words = None
        if resolved_at:
            outcome = _weighted(rng, OUTCOME_WEIGHTS)
            if cause_id in learning.asks_for_words:
                cause_words = rng.choice(OTHER_CAUSE_WORDS)
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
                "outcome": outcome.value if outcome else None,
                "root_cause_id": cause_id if resolved_at else None,
                "root_cause_words": cause_words,
                "product_id": product_id,
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
            if outcome in REDRESS_BY_OUTCOME and rng.random() < 0.7:
                self._redress(ids, rows, events, case_id, owner_id, outcome,
                              first_responded_at, resolved_at)
            events.add(resolved_at, EventKind.RESOLVED, owner_id,
                       body="We put it right: " + (desired_outcome or "as agreed."))
            events.add(resolved_at, EventKind.LEARNING_RECORDED, owner_id,
                       body=learning.learning_words(outcome, cause_id, cause_words, product_id),
                       visibility=Visibility.INTERNAL,
                       data={"outcome": outcome, "root_cause_id": cause_id,
                             "product_id": product_id})
        if closed_at:
            events.add(closed_at, EventKind.CLOSED, customer_id,
                       body="You confirmed that this is put right.")
            if rating:
                events.add(closed_at, EventKind.RATED, customer_id, body=f"Rated {rating} of 5",
                           data={"rating": rating})
        for problem in self.problems.get(cause_id, ()):
            self._link(rows, events, problem, case_id, owner_id, created)
        events.flush()

    def _redress(self, ids, rows, events, case_id, owner_id, outcome, start, resolved_at):
        """One or two remedies; money above the owner's limit was approved by a manager."""
        rng = self.rng
        kinds, weights = zip(*REDRESS_BY_OUTCOME[outcome], strict=True)
        chosen = {rng.choices(kinds, weights=weights)[0]
                  for _ in range(rng.choice((1, 1, 2)))}
        for kind in sorted(chosen):
            descriptions, pounds = REDRESS_CHOICES[kind]
            amount = rng.randrange(*pounds) * 100 if pounds else None
            given = start + (resolved_at - start) * rng.random()
            approved = amount is not None and amount > AGENT_REDRESS_LIMIT_MINOR
            redress_id = ids.take("redress")
            description = rng.choice(descriptions)
            beyond = amount is not None and rng.random() < 0.2 or kind == RedressKind.PROCESS_CHANGE
            rows.redress.append(
                {
                    "id": redress_id,
                    "case_id": case_id,
                    "kind": kind.value,
                    "description": description,
                    "amount_minor": amount,
                    "currency": "GBP" if amount else None,
                    "beyond_request": beyond,
                    "state": (RedressState.APPROVED if approved else RedressState.GIVEN).value,
                    "escalation_id": None,
                    "recorded_by_id": owner_id,
                    "created_at": given,
                    "decided_at": min(resolved_at, given + timedelta(hours=rng.uniform(1, 20)))
                    if approved else None,
                }
            )
            words = description if amount is None else f"{description} (£{amount / 100:,.2f})"
            events.add(given, EventKind.REDRESS_RECORDED, owner_id,
                       body=f"Remedy recorded: {words}", visibility=Visibility.INTERNAL,
                       data={"redress_id": redress_id, "kind": kind.value,
                             "amount_minor": amount, "currency": "GBP" if amount else None,
                             "state": RedressState.GIVEN.value, "beyond_request": beyond})

    def _link(self, rows, events, problem: _PlannedProblem, case_id, owner_id, created):
        """A case with the problem's cause, raised while it was open (or a little before),
        is linked by its owner, now and then."""
        if problem.links >= PROBLEM_LINKS_MAX or self.rng.random() >= self.link_chance:
            return
        if not problem.opened_at - PROBLEM_LOOKBACK <= created <= problem.open_until:
            return
        linked = max(problem.opened_at, created + timedelta(hours=self.rng.uniform(2, 48)))
        if linked > problem.open_until:
            return
        problem.links += 1
        rows.problem_links.append(
            {"problem_id": problem.id, "case_id": case_id, "linked_by_id": owner_id,
             "linked_at": linked}
        )
        reference = reference_for(case_id)
        events.add(linked, EventKind.PROBLEM_LINKED, owner_id,
                   body=f"Linked to {problem.reference}: {problem.title}",
                   visibility=Visibility.INTERNAL,
                   data={"problem_id": problem.id, "reference": problem.reference})
        problem.events.append((linked, ProblemEventKind.CASE_LINKED, owner_id, reference,
                               {"case_id": case_id, "reference": reference}))

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


def _complaint(rng: random.Random) -> tuple[str, str, str | None]:
    """The complaint in the customer's words, what they want, and the product they name."""
    month, weekday = rng.choice(MONTHS), rng.choice(WEEKDAYS)
    product = None
    if rng.random() < 0.55:
        product = rng.choice(PRODUCTS)
        first = f"My {product} {rng.choice(PROBLEMS)} on {weekday}."
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
    return description, rng.choice(OUTCOMES), product

