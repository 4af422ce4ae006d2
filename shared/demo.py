"""The demo organisation that `make run` loads once, so a new user can try everything."""

from datetime import date, time

from shared.extensions import db
from shared.models import (
    Calendar,
    Category,
    Holiday,
    Priority,
    Role,
    ServiceLevel,
    ServiceTarget,
    Team,
    User,
    WorkingHours,
    utcnow,
)
from shared.services import cases as case_actions

DEMO_PASSWORD = "amends-demo-only"
DEMO_LOGINS = [
    ("customer", "alex@example.com", "portal: /sign-in"),
    ("agent", "sam@example.com", "back office: /staff/login"),
    ("manager", "morgan@example.com", "back office: /staff/login"),
    ("admin", "admin@example.com", "back office: /staff/login (has the mailbox)"),
    ("head of service", "harper@example.com", "back office: /staff/login (decides escalations)"),
]

UK_BANK_HOLIDAYS = [
    (date(2026, 1, 1), "New Year’s Day"),
    (date(2026, 4, 3), "Good Friday"),
    (date(2026, 4, 6), "Easter Monday"),
    (date(2026, 5, 4), "Early May bank holiday"),
    (date(2026, 5, 25), "Spring bank holiday"),
    (date(2026, 8, 31), "Summer bank holiday"),
    (date(2026, 12, 25), "Christmas Day"),
    (date(2026, 12, 28), "Boxing Day (substitute day)"),
    (date(2027, 1, 1), "New Year’s Day"),
    (date(2027, 3, 26), "Good Friday"),
    (date(2027, 3, 29), "Easter Monday"),
    (date(2027, 5, 3), "Early May bank holiday"),
    (date(2027, 5, 31), "Spring bank holiday"),
    (date(2027, 8, 30), "Summer bank holiday"),
    (date(2027, 12, 27), "Christmas Day (substitute day)"),
    (date(2027, 12, 28), "Boxing Day (substitute day)"),
]

HOUR = 60
DAY = 8 * HOUR  # one business day of the 09:00–17:00 calendar
# priority: acknowledge, first full response, resolve, update every (business minutes)
STANDARD_TARGETS = {
    Priority.LOW: (DAY, 3 * DAY, 15 * DAY, 3 * DAY),
    Priority.NORMAL: (4 * HOUR, 2 * DAY, 10 * DAY, 2 * DAY),
    Priority.HIGH: (2 * HOUR, DAY, 5 * DAY, DAY),
    Priority.URGENT: (HOUR, 4 * HOUR, 2 * DAY, 4 * HOUR),
}


def uk_calendar() -> Calendar:
    calendar = Calendar(name="UK office hours", timezone="Europe/London", zone_label="UK time")
    calendar.hours = [WorkingHours(weekday=d, opens=time(9), closes=time(17)) for d in range(5)]
    calendar.holidays = [Holiday(day=d, name=n) for d, n in UK_BANK_HOLIDAYS]
    return calendar


def standard_service_level(calendar: Calendar) -> ServiceLevel:
    level = ServiceLevel(name="Standard", calendar=calendar)
    level.targets = [
        ServiceTarget(
            priority=priority,
            acknowledge_minutes=ack,
            first_response_minutes=first,
            resolve_minutes=resolve,
            update_every_minutes=update,
        )
        for priority, (ack, first, resolve, update) in STANDARD_TARGETS.items()
    ]
    return level


def _person(email, name, role, team=None) -> User:
    user = User(email=email, name=name, role=role, team=team, email_verified_at=utcnow())
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    return user


def load_demo_data() -> bool:
    """Create the demo organisation unless it exists; returns whether anything was created."""
    if User.by_email("admin@example.com") is not None:
        return False
    care = Team(name="Customer care")
    billing = Team(name="Billing")
    engineering = Team(name="Engineering")
    field = Team(name="Field service")
    db.session.add_all([care, billing, engineering, field])

    _person("admin@example.com", "Ada Admin", Role.ADMIN)
    morgan = _person("morgan@example.com", "Morgan Lee", Role.MANAGER, care)
    morgan.approval_level = 1
    _person("harper@example.com", "Harper Quinn", Role.MANAGER).approval_level = 2
    _person("sam@example.com", "Sam Taylor", Role.AGENT, care)
    _person("priya@example.com", "Priya Shah", Role.AGENT, care)
    _person("jo@example.com", "Jo Evans", Role.AGENT, billing)
    _person("dev@example.com", "Dev Patel", Role.AGENT, engineering)
    _person("kim@example.com", "Kim Novak", Role.AGENT, field)
    alex = _person("alex@example.com", "Alex Carter", Role.CUSTOMER)
    db.session.flush()
    care.manager = morgan

    level = standard_service_level(uk_calendar())
    db.session.add(level)
    categories = {}
    for position, (name, description, team) in enumerate(
        [
            ("Billing and payments", "A charge, a refund, a bill you did not expect.", billing),
            ("Delivery or installation", "Something late, missing, damaged or badly fitted.", care),
            ("A faulty product", "Something that broke, does not work, or is unsafe.", care),
            ("Our service or staff", "How you were treated, or a promise we did not keep.", care),
            ("Something else", "Anything else: we want to hear about it.", care),
        ]
    ):
        categories[name] = Category(
            name=name,
            description=description,
            position=position,
            default_team=team,
            service_level=level,
        )
    db.session.add_all(categories.values())
    db.session.flush()

    case_actions.raise_case(
        name=alex.name,
        email=alex.email,
        category=categories["Delivery or installation"],
        description="My washing machine was delivered on Monday with a dented door.\n"
        "The driver left before I could show him.",
        desired_outcome="A replacement door, fitted this week.",
        external_reference="ORD-20417",
        signed_in_customer=alex,
    )
    resolved = case_actions.raise_case(
        name=alex.name,
        email=alex.email,
        category=categories["Billing and payments"],
        description="I was charged twice for my October bill.",
        desired_outcome="The second payment refunded.",
        signed_in_customer=alex,
    )
    case_actions.acknowledge_case(resolved, actor=resolved.owner)
    case_actions.resolve_case(
        resolved,
        actor=resolved.owner,
        resolution="We refunded the duplicate payment of £42.50; it reaches your account within"
        " 3 working days. We have fixed the fault that took it twice.",
    )
    return True
