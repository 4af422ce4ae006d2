"""The back office's navigation: each area registers its own entries, in one place each."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import request
from flask_login import current_user

from shared.models import STAFF_ROLES, Role, User


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: frozenset[Role]
    order: int
    # A further condition on the person, e.g. that they decide escalations: an entry that
    # would answer 403 is not offered.
    shown_to: Callable[[User], bool] | None = None
    # How many things wait for the person there (drawn beside the label when not zero). Read
    # on every staff page, so it must be one cheap query.
    count: Callable[[User], int] | None = None
    count_words: str = "waiting"  # read by screen readers after the number: "3 unread"
    # An endpoint answering the count alone, which htmx polls to keep it current.
    count_refresh: str | None = None

    def is_for(self, user: User) -> bool:
        return user.role in self.roles and (self.shown_to is None or self.shown_to(user))


NAV_ITEMS: list[NavItem] = []


def add_nav_item(
    endpoint: str,
    label: str,
    *,
    roles=STAFF_ROLES,
    order: int = 50,
    shown_to: Callable[[User], bool] | None = None,
    count: Callable[[User], int] | None = None,
    count_words: str = "waiting",
    count_refresh: str | None = None,
) -> None:
    NAV_ITEMS.append(NavItem(endpoint, label, frozenset(roles), order, shown_to, count,
                             count_words, count_refresh))


def navigation_for_current_user() -> list[tuple[NavItem, bool]]:
    """The entries this person may use, each with whether it is the page being shown."""
    if not (current_user.is_authenticated and current_user.is_staff):
        return []
    items = sorted(
        (item for item in NAV_ITEMS if item.is_for(current_user)),
        key=lambda item: (item.order, item.label),
    )
    return [(item, request.endpoint == item.endpoint) for item in items]
