"""The managed lists resolving a case chooses from, and each staff member's redress limit.

Admins keep root causes as areas with causes under them (Delivery → carrier missed the slot),
and a list of products and services. Nothing on these lists is ever deleted: an item is
retired, which takes it off the lists people choose from, while resolved cases keep pointing
at it and show its name as it was. A retired item can be restored.

Names are unique whatever their capitals: area names, product names, and cause names within
their area. A cause that "asks for words" (the area's "Other") makes the person resolving
say in words what the cause was; such causes come last in their area.

One function per action, as elsewhere: each takes the acting admin, checks the rule (raising
RuleViolation with the field it belongs beside), changes the data and never commits.
"""

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from shared.extensions import db
from shared.models import CauseArea, Product, Role, RootCause, User, utcnow
from shared.money import MAX_AMOUNT_MINOR, format_money, organisation_currency
from shared.services.errors import RuleViolation

AREA_NAME_MAX = 120
CAUSE_NAME_MAX = 160
PRODUCT_NAME_MAX = 120


def _admin_only(actor: User, what: str) -> None:
    if actor is None or actor.role != Role.ADMIN or not actor.active:
        raise RuleViolation(f"Only an administrator can change {what}.")


def _clean_name(value: str, *, what: str, longest: int) -> str:
    name = " ".join((value or "").split())  # one space between words, none around them
    if not name:
        raise RuleViolation(f"Enter a name for the {what}.", field="name")
    if len(name) > longest:
        raise RuleViolation(
            f"Use no more than {longest} characters for the {what}'s name.", field="name"
        )
    return name


def _unique_name(model, value: str, *, what: str, longest: int, other_than: int | None = None,
                 within=(), where: str = "") -> str:
    """The name tidied, refused when empty, too long or already used (whatever its capitals)
    by another item of `model` (`within`: the same area), saying whether that one is retired."""
    name = _clean_name(value, what=what, longest=longest)
    query = select(model).where(func.lower(model.name) == name.lower(), *within)
    if other_than is not None:
        query = query.where(model.id != other_than)
    existing = db.session.scalars(query.limit(1)).first()
    if existing is None:
        return name
    place = f" in {where}" if where else ""
    if existing.is_retired:
        raise RuleViolation(
            f"There is already a retired {what} called “{existing.name}”{place}. Restore it"
            " instead, or choose another name.",
            field="name",
        )
    article = "an" if what[0] in "aeiou" else "a"
    raise RuleViolation(
        f"There is already {article} {what} called “{existing.name}”{place}. Choose another"
        " name.",
        field="name",
    )


def _mark_retired(item) -> None:
    if item.is_retired:
        raise RuleViolation(f"“{item.name}” is already retired.")
    item.retired_at = utcnow()


def _mark_restored(item) -> None:
    if not item.is_retired:
        raise RuleViolation(f"“{item.name}” is in use already: there is nothing to restore.")
    item.retired_at = None


# --- Areas ----------------------------------------------------------------------------------


def _area_name(value: str, *, other_than: int | None = None) -> str:
    return _unique_name(CauseArea, value, what="area", longest=AREA_NAME_MAX,
                        other_than=other_than)


def create_area(*, actor: User, name: str) -> CauseArea:
    _admin_only(actor, "the list of causes")
    area = CauseArea(name=_area_name(name))
    db.session.add(area)
    db.session.flush()
    return area


def rename_area(area: CauseArea, *, actor: User, name: str) -> None:
    """Resolved cases show the new name: it names the same part of the business."""
    _admin_only(actor, "the list of causes")
    area.name = _area_name(name, other_than=area.id)


def retire_area(area: CauseArea, *, actor: User) -> None:
    """The area and its causes leave the list people choose from; cases keep them."""
    _admin_only(actor, "the list of causes")
    in_use_here = not area.is_retired and any(not cause.is_retired for cause in area.causes)
    if in_use_here and not _live_causes_outside(area_id=area.id):
        raise RuleViolation(
            f"Cases cannot be resolved without a cause to choose, and “{area.name}” holds the"
            " only ones in use. Add causes in another area first."
        )
    _mark_retired(area)


def restore_area(area: CauseArea, *, actor: User) -> None:
    """Back on the list, with the causes in it that are not retired themselves."""
    _admin_only(actor, "the list of causes")
    _mark_restored(area)


# --- Causes ---------------------------------------------------------------------------------


def _cause_name(area: CauseArea, value: str, *, other_than: int | None = None) -> str:
    return _unique_name(RootCause, value, what="cause", longest=CAUSE_NAME_MAX,
                        other_than=other_than, within=(RootCause.area_id == area.id,),
                        where=area.name)


def create_cause(
    area: CauseArea, *, actor: User, name: str, asks_for_words: bool = False
) -> RootCause:
    _admin_only(actor, "the list of causes")
    cause = RootCause(
        area=area, name=_cause_name(area, name), asks_for_words=bool(asks_for_words)
    )
    db.session.add(cause)
    db.session.flush()
    return cause


def update_cause(cause: RootCause, *, actor: User, name: str, asks_for_words: bool) -> None:
    """Resolved cases show the new name; the words given for an "Other" cause stay theirs."""
    _admin_only(actor, "the list of causes")
    cause.name = _cause_name(cause.area, name, other_than=cause.id)
    cause.asks_for_words = bool(asks_for_words)


def retire_cause(cause: RootCause, *, actor: User) -> None:
    _admin_only(actor, "the list of causes")
    if not cause.is_retired and not cause.area.is_retired and not _live_causes_outside(
        cause_id=cause.id
    ):
        raise RuleViolation(
            f"Cases cannot be resolved without a cause to choose, and “{cause.name}” is the"
            " only one in use. Add another cause first."
        )
    _mark_retired(cause)


def restore_cause(cause: RootCause, *, actor: User) -> None:
    _admin_only(actor, "the list of causes")
    if cause.is_retired and cause.area.is_retired:
        raise RuleViolation(
            f"“{cause.name}” is in “{cause.area.name}”, which is retired: restore the area"
            " first."
        )
    _mark_restored(cause)


def _live_causes_outside(*, area_id: int | None = None, cause_id: int | None = None) -> bool:
    """Whether a cause people can choose remains when this area or cause is retired."""
    query = (
        select(RootCause.id)
        .join(CauseArea, CauseArea.id == RootCause.area_id)
        .where(RootCause.retired_at.is_(None), CauseArea.retired_at.is_(None))
    )
    if area_id is not None:
        query = query.where(RootCause.area_id != area_id)
    if cause_id is not None:
        query = query.where(RootCause.id != cause_id)
    return db.session.scalar(query.limit(1)) is not None


# --- Products -------------------------------------------------------------------------------


def _product_name(value: str, *, other_than: int | None = None) -> str:
    return _unique_name(Product, value, what="product or service", longest=PRODUCT_NAME_MAX,
                        other_than=other_than)


def create_product(*, actor: User, name: str) -> Product:
    _admin_only(actor, "the list of products")
    product = Product(name=_product_name(name))
    db.session.add(product)
    db.session.flush()
    return product


def rename_product(product: Product, *, actor: User, name: str) -> None:
    _admin_only(actor, "the list of products")
    product.name = _product_name(name, other_than=product.id)


def retire_product(product: Product, *, actor: User) -> None:
    _admin_only(actor, "the list of products")
    _mark_retired(product)


def restore_product(product: Product, *, actor: User) -> None:
    _admin_only(actor, "the list of products")
    _mark_restored(product)


# --- What people choose from ----------------------------------------------------------------


def _cause_order():
    # "Other" comes last in its area, whatever it is called.
    return (RootCause.asks_for_words, RootCause.position, func.lower(RootCause.name))


def cause_choices(current_id: int | None = None) -> list[tuple[str, list[tuple[int, str, bool]]]]:
    """The causes to choose from, grouped by area: [(area name, [(id, name, asks for words)])].

    Retired causes and the causes of retired areas are left out, except `current_id` (the
    case's cause as it stands), which keeps its place so that saving again keeps it. One
    query.
    """
    live = RootCause.retired_at.is_(None) & CauseArea.retired_at.is_(None)
    if current_id is not None:
        live = live | (RootCause.id == current_id)
    rows = db.session.execute(
        select(CauseArea.id, CauseArea.name, RootCause.id, RootCause.name,
               RootCause.asks_for_words)
        .join(CauseArea, CauseArea.id == RootCause.area_id)
        .where(live)
        .order_by(CauseArea.position, func.lower(CauseArea.name), CauseArea.id,
                  *_cause_order(), RootCause.id)
    ).all()
    groups: list[tuple[str, list[tuple[int, str, bool]]]] = []
    last_area = None
    for area_id, area_name, cause_id, cause_name, asks_for_words in rows:
        if area_id != last_area:
            groups.append((area_name, []))
            last_area = area_id
        groups[-1][1].append((cause_id, cause_name, bool(asks_for_words)))
    return groups


def product_choices(current_id: int | None = None) -> list[tuple[int, str]]:
    """Products and services to choose from, with `current_id` kept even if retired."""
    live = Product.retired_at.is_(None)
    if current_id is not None:
        live = live | (Product.id == current_id)
    return [
        (product_id, name)
        for product_id, name in db.session.execute(
            select(Product.id, Product.name)
            .where(live)
            .order_by(Product.position, func.lower(Product.name), Product.id)
        )
    ]


# --- What the admin pages list --------------------------------------------------------------


def areas_with_causes() -> list[CauseArea]:
    """Every area, in use first, with its causes loaded: two queries however many."""
    areas = db.session.scalars(
        select(CauseArea)
        .options(selectinload(CauseArea.causes))
        .order_by(CauseArea.retired_at.is_not(None), CauseArea.position,
                  func.lower(CauseArea.name), CauseArea.id)
    ).all()
    return list(areas)


def ordered_causes(area: CauseArea) -> list[RootCause]:
    """An area's causes as the lists show them: in use first, "Other" last among them."""
    return sorted(
        area.causes,
        key=lambda cause: (cause.is_retired, cause.asks_for_words, cause.position,
                           cause.name.lower(), cause.id),
    )


def all_products() -> list[Product]:
    """Every product, in use first: one query."""
    return list(db.session.scalars(
        select(Product).order_by(Product.retired_at.is_not(None), Product.position,
                                 func.lower(Product.name), Product.id)
    ))


# --- Redress authority ----------------------------------------------------------------------


def set_redress_limit(member: User, *, actor: User, amount_minor: int) -> None:
    """The most redress, in the organisation's currency, `member` may give on one case without
    a manager's approval. Zero: every payment they record needs approval."""
    _admin_only(actor, "redress limits")
    if not member.is_staff:
        raise RuleViolation("Only staff have a redress limit.", field="redress_limit")
    if amount_minor is None or amount_minor < 0:
        raise RuleViolation(
            "Enter a limit of 0 or more, like 50.00. 0 means every payment needs approval.",
            field="redress_limit",
        )
    if amount_minor > MAX_AMOUNT_MINOR:
        currency = organisation_currency()
        raise RuleViolation(
            f"Enter a limit of no more than {format_money(MAX_AMOUNT_MINOR, currency)}.",
            field="redress_limit",
        )
    if member.redress_limit_minor == amount_minor:
        return
    before = member.redress_limit_minor or 0
    member.redress_limit_minor = amount_minor
    # Like other changes to someone's account, it is kept in the application log.
    current_app.logger.info(
        "redress limit of user %s changed from %s to %s (minor units, %s) by admin %s",
        member.id, before, amount_minor, organisation_currency(), actor.id,
    )
