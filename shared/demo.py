"""The demo organisation that `make run` loads once, so a new user can try everything.

Besides the people, categories and Alex's two complaints, it has what the learning loop
needs to be seen at once: the lists of causes and products, redress on a resolved case, a
problem owned by Engineering with three linked cases, and a spike the sweep finds (washing
machines that stopped working: a few over the last weeks, then seven today).
"""

from datetime import date, time, timedelta

from sqlalchemy import select, update

from shared.extensions import db
from shared.models import (
    Calendar,
    Case,
    Category,
    CauseArea,
    Holiday,
    Outcome,
    Priority,
    Product,
    RedressKind,
    Role,
    RootCause,
    ServiceLevel,
    ServiceTarget,
    Team,
    TimelineEvent,
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
    harper = _person("harper@example.com", "Harper Quinn", Role.MANAGER)
    harper.approval_level = 2
    sam = _person("sam@example.com", "Sam Taylor", Role.AGENT, care)
    priya = _person("priya@example.com", "Priya Shah", Role.AGENT, care)
    jo = _person("jo@example.com", "Jo Evans", Role.AGENT, billing)
    dev = _person("dev@example.com", "Dev Patel", Role.AGENT, engineering)
    kim = _person("kim@example.com", "Kim Novak", Role.AGENT, field)
    alex = _person("alex@example.com", "Alex Carter", Role.CUSTOMER)
    # Redress each may give on a case without a manager's approval.
    for agent in (sam, priya, jo, dev, kim):
        agent.redress_limit_minor = AGENT_REDRESS_LIMIT_MINOR
    morgan.redress_limit_minor = MANAGER_REDRESS_LIMIT_MINOR
    harper.redress_limit_minor = 2 * MANAGER_REDRESS_LIMIT_MINOR
    db.session.flush()
    care.manager = morgan
    causes, products = _learning_lists()

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
    from shared.services.redress import record_redress  # imported here: it imports cases

    record_redress(resolved, actor=resolved.owner, kind=RedressKind.REFUND,
                   description="A refund of the duplicate payment.", amount_minor=4250,
                   currency="GBP")
    case_actions.resolve_case(
        resolved,
        actor=resolved.owner,
        resolution="We refunded the duplicate payment of £42.50; it reaches your account within"
        " 3 working days. We have fixed the fault that took it twice.",
        outcome=Outcome.UPHELD,
        root_cause=causes["Double charge"],
        product=products["Broadband router"],
    )
    _problem_with_three_cases(resolved, categories["Billing and payments"], causes,
                              products, engineering=engineering, dev=dev, morgan=morgan)
    _washing_machine_spike(categories["A faulty product"], causes, products)
    return True


# --- The learning loop ---------------------------------------------------------------------------

AGENT_REDRESS_LIMIT_MINOR = 50_00
MANAGER_REDRESS_LIMIT_MINOR = 500_00
DEMO_PRODUCT_COUNT = 8  # the first of the seed's products: washing machines, routers, ...


def _learning_lists() -> tuple[dict[str, RootCause], dict[str, Product]]:
    """The seed's areas and causes, and its first products; by name."""
    from shared.seed import CAUSE_AREAS, PRODUCT_NAMES  # imported here: the seed imports us

    causes = {}
    for position, (area_name, area_causes) in enumerate(CAUSE_AREAS):
        area = CauseArea(name=area_name, position=position)
        for number, (name, _weight, asks_for_words) in enumerate(area_causes):
            causes[name] = RootCause(name=name, asks_for_words=asks_for_words, position=number)
            area.causes.append(causes[name])
        db.session.add(area)
    products = {name: Product(name=name, position=position)
                for position, name in enumerate(PRODUCT_NAMES[:DEMO_PRODUCT_COUNT])}
    db.session.add_all(products.values())
    db.session.flush()
    return causes, products


def _problem_with_three_cases(resolved: Case, billing: Category, causes, products, *,
                              engineering: Team, dev: User, morgan: User) -> None:
    """Direct debits taken twice: Alex's resolved case and two more, one being worked on, one
    new; Engineering (Dev) owns the fix."""
    in_progress = case_actions.raise_case(
        name="Chris Okafor",
        email="chris.okafor@example.net",
        category=billing,
        description="My direct debit for October was taken twice, on the 1st and the 2nd.",
        desired_outcome="The second payment back, and to know it will not happen again.",
    )
    case_actions.acknowledge_case(in_progress, actor=in_progress.owner)
    from shared.services.messages import post_update  # imported here: it imports cases

    post_update(in_progress, actor=in_progress.owner,
                body="I can see both payments. I have asked our engineers why it happened and"
                " will refund the second one as soon as they confirm.")
    new = case_actions.raise_case(
        name="Dana Whitfield",
        email="dana.whitfield@example.org",
        category=billing,
        description="Two payments of £38.99 left my account this month instead of one.",
        desired_outcome="A refund of the extra payment.",
    )
    from shared.services.problems import open_problem  # imported here: it imports cases

    open_problem(
        actor=morgan,
        title="Direct debits taken twice in October",
        description="The payment run on 1 October was repeated on the 2nd for some customers"
        " who pay by direct debit.",
        customer_summary="Our payment run repeated itself on 2 October and took some direct"
        " debits twice. We have fixed the run, and every second payment is being refunded.",
        team=engineering,
        owner=dev,
        root_cause=causes["Double charge"],
        category=billing,
        cases=[resolved, in_progress, new],
    )


# (name, email) of the customers whose washing machines stopped: four over the last weeks,
# then seven today.
WASHER_HISTORY = (
    ("Robin Hale", "robin.hale@example.org", 2),
    ("Femi Adeyemi", "femi.adeyemi@example.net", 3),
    ("Grace Lewis", "grace.lewis@example.com", 5),
    ("Omar Hussain", "omar.hussain@example.org", 7),
)
WASHER_BURST = (
    ("Isla Fraser", "isla.fraser@example.net"),
    ("Ben Wright", "ben.wright@example.org"),
    ("Nia Campbell", "nia.campbell@example.com"),
    ("Tom Kowalski", "tom.kowalski@example.net"),
    ("Zara Khan", "zara.khan@example.org"),
    ("Liam Byrne", "liam.byrne@example.com"),
    ("Maya Singh", "maya.singh@example.net"),
)
WASHER_STOPPED = "My washing machine stopped mid-cycle with water in the drum and shows E21."


def _washing_machine_spike(faulty: Category, causes, products) -> None:
    """A spike the sweep finds this week and today: "A faulty product" and "Washing machine"
    had a complaint every week or two, then seven today (the rule: above the 99.9 % Poisson
    limit of the weeks before, and at least 5)."""
    washer = products["Washing machine"]
    stopped = causes["Stopped working"]
    for name, email, weeks_ago in WASHER_HISTORY:
        case = case_actions.raise_case(
            name=name, email=email, category=faulty, description=WASHER_STOPPED,
            desired_outcome="A repair or a new machine.",
        )
        case_actions.acknowledge_case(case, actor=case.owner)
        case_actions.resolve_case(
            case, actor=case.owner, outcome=Outcome.UPHELD, root_cause=stopped, product=washer,
            resolution="Our engineer replaced the control board and your machine works again.",
        )
        _backdate(case, timedelta(weeks=weeks_ago))
    for number, (name, email) in enumerate(WASHER_BURST):
        case = case_actions.raise_case(
            name=name, email=email, category=faulty, description=WASHER_STOPPED,
            desired_outcome="A working washing machine this week.",
        )
        case.product = washer
        if number < 4:
            case_actions.acknowledge_case(case, actor=case.owner)
        if number < 2:
            case_actions.resolve_case(
                case, actor=case.owner, outcome=Outcome.UPHELD, root_cause=stopped,
                product=washer,
                resolution="Our engineer replaced the control board this afternoon.",
            )


def _backdate(case: Case, by: timedelta) -> None:
    """Move a case, its timeline and its new customer back in time by whole weeks (so its
    time frames still fall in working hours). Core statements: the timeline is append-only
    to the app, and this is history being made, not changed."""
    db.session.flush()
    moments = ("created_at", "updated_at", "acknowledge_due_at", "first_response_due_at",
               "resolve_due_at", "next_update_due_at", "acknowledged_at", "first_responded_at",
               "resolved_at", "closed_at", "rated_at")
    earlier = {name: getattr(case, name) - by for name in moments
               if getattr(case, name) is not None}
    db.session.execute(update(Case.__table__).where(Case.__table__.c.id == case.id)
                       .values(earlier))
    events = TimelineEvent.__table__
    for event_id, created_at in db.session.execute(
        select(events.c.id, events.c.created_at).where(events.c.case_id == case.id)
    ).all():
        db.session.execute(update(events).where(events.c.id == event_id)
                           .values(created_at=created_at - by))
    customer = case.customer
    if customer.created_at >= case.created_at:
        db.session.execute(update(User.__table__).where(User.__table__.c.id == customer.id)
                           .values(created_at=earlier["created_at"]))
    db.session.expire(case)
    db.session.expire(customer)
