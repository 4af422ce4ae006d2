"""What may reach a view: database ids in the range the columns hold, and text that can be
stored (no NUL).

Every primary key is an INTEGER column: 64-bit on SQLite but 32-bit on PostgreSQL. A larger
number typed into an address or a form would make the database refuse the query (a crash), so
it is "not found" before any query runs, the same on both databases.
"""

import re

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

LARGEST_DATABASE_ID = 2**31 - 1  # PostgreSQL's INTEGER
_DATABASE_ID = re.compile(r"[0-9]{1,10}")


def database_id(raw) -> int:
    """The id a query string or form value names; ValueError if it cannot name a row.

    Usable as ``request.args.get(name, type=database_id)``, which then gives None."""
    text = str(raw).strip()
    if not _DATABASE_ID.fullmatch(text):
        raise ValueError(f"not a database id: {text[:20]!r}")
    value = int(text)
    if not 1 <= value <= LARGEST_DATABASE_ID:
        raise ValueError(f"not a database id: {value}")
    return value


class DatabaseIdConverter(IntegerConverter):
    """``<id:name>`` in a route: matches only ids a row can have, else the page is a 404."""

    regex = r"[0-9]{1,10}"  # ASCII digits only; \d would also take other scripts' digits

    def __init__(self, map):
        super().__init__(map, min=1, max=LARGEST_DATABASE_ID)


def refuse_nul_characters():
    """A request whose address, query, form or file names hold a NUL character is a 400,
    answered here once rather than by a crash in whichever view hands it to PostgreSQL, whose
    text cannot hold NUL. (Bytes that are not UTF-8, lone surrogates among them, never reach a
    view: Werkzeug decodes them as U+FFFD or leaves them percent-encoded.)"""
    texts = [request.path]
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            texts.extend((name, value))
    for name, upload in request.files.items(multi=True):
        texts.extend((name, upload.filename or ""))
    if any("\x00" in text for text in texts):
        abort(400)


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = DatabaseIdConverter
    app.before_request(refuse_nul_characters)
