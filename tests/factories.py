"""Builders for test data, made through the same services the app uses."""

import io
from types import SimpleNamespace

from werkzeug.datastructures import FileStorage
from werkzeug.security import generate_password_hash

from shared.demo import standard_service_level, uk_calendar
from shared.extensions import db
from shared.models import Category, Role, Team, User, utcnow
from shared.services import cases as case_actions

PASSWORD = "correct horse battery"

# The smallest valid PNG: enough for the content check of attachments.
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def make_user(email, name, role=Role.CUSTOMER, team=None, password=PASSWORD, **fields) -> User:
    user = User(email=email, name=name, role=role, team=team, **fields)
    if password:
        # A cheap hash keeps tests quick; the app's own hashing is scrypt.
        user.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1000")
    db.session.add(user)
    db.session.flush()
    return user


def make_organisation() -> SimpleNamespace:
    care = Team(name="Customer care")
    billing = Team(name="Billing")
    db.session.add_all([care, billing])
    manager = make_user("morgan@example.com", "Morgan Lee", Role.MANAGER, care, approval_level=1)
    head = make_user("harper@example.com", "Harper Quinn", Role.MANAGER, approval_level=2)
    sam = make_user("sam@example.com", "Sam Taylor", Role.AGENT, care)
    priya = make_user("priya@example.com", "Priya Shah", Role.AGENT, care)
    jo = make_user("jo@example.com", "Jo Evans", Role.AGENT, billing)
    admin = make_user("admin@example.com", "Ada Admin", Role.ADMIN)
    care.manager = manager
    level = standard_service_level(uk_calendar())
    delivery = Category(name="Delivery", position=1, default_team=care, service_level=level)
    bills = Category(name="Billing", position=2, default_team=billing, service_level=level)
    other = Category(name="Something else", position=9, default_team=care, service_level=level)
    db.session.add_all([level, delivery, bills, other])
    db.session.flush()
    return SimpleNamespace(
        care=care,
        billing=billing,
        manager=manager,
        head=head,
        sam=sam,
        priya=priya,
        jo=jo,
        admin=admin,
        service_level=level,
        delivery=delivery,
        bills=bills,
        other=other,
    )


def make_customer(email="alex@example.com", name="Alex Carter", **fields) -> User:
    return make_user(email, name, Role.CUSTOMER, email_verified_at=utcnow(), **fields)


def raise_case(category, *, email="alex@example.com", name="Alex Carter", customer=None,
               description="My parcel arrived crushed.", **fields):
    return case_actions.raise_case(
        name=name,
        email=email,
        description=description,
        category=category,
        signed_in_customer=customer,
        **fields,
    )


def upload(name="photo.png", data=PNG_BYTES, content_type="image/png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=content_type)


# --- Coordination (tasks, promises, remedies, saved replies) ----------------------------------


def case_owned_by(owner, category, *, customer=None, email="alex@example.com", **fields):
    """A case raised through the service, then owned by `owner` whoever assignment chose."""
    case = raise_case(category, customer=customer, email=email, **fields)
    case.owner = owner
    db.session.flush()
    return case


def in_hours(hours: float):
    """A moment `hours` from now (negative: in the past), timezone-aware."""
    from datetime import timedelta

    return utcnow() + timedelta(hours=hours)


def make_saved_reply(title="Refund on its way", body="Dear {customer_name}, about {reference}.",
                     updated_by=None):
    from shared.models import SavedReply

    reply = SavedReply(title=title, body=body, updated_by_id=updated_by.id if updated_by else None)
    db.session.add(reply)
    db.session.flush()
    return reply


def a_problem(actor, *, team=None, owner=None, title="Parcels left at the wrong door",
              cases=(), customer_summary="Dear {customer_name}, the fault behind {reference}"
              " is fixed.", **fields):
    """An open problem owned by `owner` (default: the actor) in `team` (default: theirs),
    opened through the service with these cases linked."""
    from shared.services import problems as problem_actions

    owner = owner or actor
    return problem_actions.open_problem(
        actor=actor, title=title, team=team or owner.team, owner=owner, cases=cases,
        customer_summary=customer_summary, **fields,
    )


# --- What resolving records: outcome, root cause, product ------------------------------------


def a_root_cause(name="Carrier missed the slot", area_name="Delivery", *, asks_for_words=False):
    """A live root cause: the one with this name in this area, made (with its area) if there
    is none yet, so that every test can resolve a case without setting up the list."""
    from sqlalchemy import select

    from shared.models import CauseArea, RootCause

    area = db.session.scalars(select(CauseArea).where(CauseArea.name == area_name)).first()
    if area is None:
        area = CauseArea(name=area_name)
        db.session.add(area)
        db.session.flush()
    cause = db.session.scalars(
        select(RootCause).where(RootCause.area_id == area.id, RootCause.name == name)
    ).first()
    if cause is None:
        cause = RootCause(area=area, name=name, asks_for_words=asks_for_words)
        db.session.add(cause)
        db.session.flush()
    return cause


def a_product(name="Home delivery"):
    """A live product or service, made if there is none with this name."""
    from sqlalchemy import select

    from shared.models import Product

    product = db.session.scalars(select(Product).where(Product.name == name)).first()
    if product is None:
        product = Product(name=name)
        db.session.add(product)
        db.session.flush()
    return product


def cause_and_outcome(outcome="upheld", **cause):
    """What resolve_case needs beyond the resolution: `resolve_case(case, actor=...,
    resolution=..., **cause_and_outcome())`."""
    from shared.models import Outcome

    return {"outcome": Outcome(outcome), "root_cause": a_root_cause(**cause)}


def resolve_form_fields(outcome="upheld", **cause):
    """The resolve form's outcome and cause, as a browser sends them. The cause is committed,
    so that the request (with a session of its own) finds it."""
    cause_id = a_root_cause(**cause).id
    db.session.commit()
    return {"outcome": outcome, "root_cause": str(cause_id)}
