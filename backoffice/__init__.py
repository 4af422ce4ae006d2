"""The staff back office, under /staff."""

from flask import Blueprint

bp = Blueprint("backoffice", __name__)

from backoffice import views  # noqa: E402,F401  (routes attach themselves to bp)
