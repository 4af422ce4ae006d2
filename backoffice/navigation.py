"""The back office's navigation: each area registers its own entries, in one place each."""

from dataclasses import dataclass

from flask import request
from flask_login import current_user

from shared.models import STAFF_ROLES, Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: frozenset[Role]
    order: int


NAV_ITEMS: list[NavItem] = []


def add_nav_item(endpoint: str, label: str, *, roles=STAFF_ROLES, order: int = 50) -> None:
    NAV_ITEMS.append(NavItem(endpoint, label, frozenset(roles), order))


def navigation_for_current_user() -> list[tuple[NavItem, bool]]:
    """The entries this person may use, each with whether it is the page being shown."""
    if not (current_user.is_authenticated and current_user.is_staff):
        return []
    items = sorted(
        (item for item in NAV_ITEMS if current_user.role in item.roles),
        key=lambda item: (item.order, item.label),
    )
    return [(item, request.endpoint == item.endpoint) for item in items]
