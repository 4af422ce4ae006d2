"""The customer portal: raise a complaint, follow it, reply, and close it."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from portal import views  # noqa: E402,F401  (routes attach themselves to bp)
