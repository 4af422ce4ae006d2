"""Finding cases by what staff type: a reference, a customer's email address or its start
(before the @ too: "jordan.riv"), or words.

Words use the database's own full-text search, chosen by the dialect in use:

- SQLite: an FTS5 table, ``cases_fts``, whose content is the ``cases`` table itself (external
  content, so the text is stored once), kept in sync by triggers.
- PostgreSQL: a GIN expression index over the same three columns, queried with
  ``plainto_tsquery``.

The schema objects are created twice, on purpose: by the migration (real databases), and here
through metadata events, because the test suite builds its database with ``db.create_all()``.
Keep the two in step. What people type is always a bound parameter, never part of the SQL.
"""

import re

from sqlalchemy import (
    DDL,
    ColumnElement,
    Select,
    String,
    and_,
    column,
    event,
    false,
    or_,
    select,
    table,
    text,
)
from sqlalchemy import bindparam as sql_bindparam

from shared.models import Case, reference_for

FTS_TABLE = "cases_fts"
# Objects that exist only for full-text search; the migrations test leaves them out of its
# comparison with the models.
FTS_OBJECT_NAMES = frozenset(
    {
        FTS_TABLE,
        f"{FTS_TABLE}_data",
        f"{FTS_TABLE}_idx",
        f"{FTS_TABLE}_docsize",
        f"{FTS_TABLE}_config",
        f"{FTS_TABLE}_content",
        "ix_cases_search_document",
    }
)

_FTS_COLUMNS = "description, desired_outcome, contact_name"
_OLD = "old.description, old.desired_outcome, old.contact_name"
_NEW = "new.description, new.desired_outcome, new.contact_name"

# The porter stemmer lets "delivered" find "delivery", as PostgreSQL's 'english' does.
SQLITE_FTS_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({_FTS_COLUMNS}, content='cases',"
    " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER cases_fts_after_insert AFTER INSERT ON cases BEGIN"
    f" INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_NEW}); END",
    f"CREATE TRIGGER cases_fts_after_delete AFTER DELETE ON cases BEGIN"
    f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_FTS_COLUMNS})"
    f" VALUES ('delete', old.id, {_OLD}); END",
    # Only edits of the searched text touch the index, not every status or date change.
    f"CREATE TRIGGER cases_fts_after_update AFTER UPDATE OF {_FTS_COLUMNS} ON cases BEGIN"
    f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_FTS_COLUMNS})"
    f" VALUES ('delete', old.id, {_OLD});"
    f" INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_NEW}); END",
)
SQLITE_FTS_DROP = (
    "DROP TRIGGER IF EXISTS cases_fts_after_update",
    "DROP TRIGGER IF EXISTS cases_fts_after_delete",
    "DROP TRIGGER IF EXISTS cases_fts_after_insert",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)

# The query must repeat this expression exactly for PostgreSQL to use the index.
POSTGRES_DOCUMENT = (
    "to_tsvector('english', coalesce({table}description, '') || ' ' ||"
    " coalesce({table}desired_outcome, '') || ' ' || {table}contact_name)"
)
POSTGRES_FTS_DDL = (
    "CREATE INDEX ix_cases_search_document ON cases USING gin "
    f"({POSTGRES_DOCUMENT.format(table='')})",
)
POSTGRES_FTS_DROP = ("DROP INDEX IF EXISTS ix_cases_search_document",)


def _hook_into_metadata() -> None:
    """create_all/drop_all build and remove the search objects with the cases table."""
    table = Case.__table__
    for statement in SQLITE_FTS_DDL:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRES_FTS_DDL:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    # The FTS table is not in the metadata, so drop_all would otherwise leave it behind.
    for statement in SQLITE_FTS_DROP:
        event.listen(table, "before_drop", DDL(statement).execute_if(dialect="sqlite"))


_hook_into_metadata()


# --- What a search term is ------------------------------------------------------------------

_REFERENCE = re.compile(r"^AM-?(\d{1,9})$", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
# One run of characters with no space in it, such as "jordan.riv" or "jordan".
_COULD_START_AN_ADDRESS = re.compile(r"^[^\s@]+$")
MAX_TERMS = 8


def search_parameters(term: str, dialect: str) -> tuple[str, dict] | None:
    """What a search term is, as (kind, values): the kind alone fixes the SQL
    (search_condition_of_kind), so a statement built once serves every term of that kind, and
    the values fill in its parameters. None for an empty term."""
    term = term.strip()
    if not term:
        return None
    reference = _REFERENCE.match(term)
    if reference:
        # References are exact: "am-123" and "AM-000123" both mean AM-000123.
        return "reference", {"search_reference": reference_for(int(reference.group(1)))}
    # Addresses are stored lower-cased; an exact address is its own prefix.
    email = email_prefix_values(term.lower(), dialect)
    if "@" in term:
        return ("email", email) if email else ("nothing", {})
    words = _words_values(term, dialect)
    if email and _COULD_START_AN_ADDRESS.match(term):
        # "jordan.riv" may be the start of jordan.rivers@…, or words: either finds the case.
        return ("email_or_words", {**email, **words}) if words else ("email", email)
    if not words:  # only punctuation: nothing can match
        return "nothing", {}
    return "words", words


def _words_values(term: str, dialect: str) -> dict:
    if dialect == "postgresql":
        return {"search_words": term[:200]}
    query = fts5_query(term)
    return {} if query is None else {"search_words": query}


def email_prefix_values(prefix: str, dialect: str) -> dict | None:
    """The values that find every address starting with `prefix`; None if none can."""
    if dialect == "postgresql":
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return {"search_email_pattern": escaped + "%"}
    # SQLite compares UTF-8 bytes, which sort as code points do: every address with the
    # prefix sorts in [prefix, the first string after all of them).
    upper = first_string_after_every_extension_of(prefix)
    if upper is None:
        return None
    return {"search_email_from": prefix, "search_email_to": upper}


_LAST_CODE_POINT = "\U0010ffff"
_SURROGATES = range(0xD800, 0xE000)  # not characters: no string holds them


def first_string_after_every_extension_of(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix`, in code
    point order; None when there is none (the prefix is only U+10FFFF, the last character)."""
    kept = prefix.rstrip(_LAST_CODE_POINT)  # nothing comes after U+10FFFF: move one back
    if not kept:
        return None
    following = ord(kept[-1]) + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return kept[:-1] + chr(following)


def search_condition_of_kind(kind: str, dialect: str) -> ColumnElement[bool]:
    """The condition for one kind of search, its values named parameters given when the
    statement runs. What people type is always a bound parameter, never part of the SQL."""

    def bindparam(name):
        return sql_bindparam(name, type_=String())

    if kind == "reference":
        return Case.reference == bindparam("search_reference")
    if kind == "email":
        if dialect == "postgresql":
            # LIKE with a text_pattern_ops index is a range scan whatever the collation.
            pattern = bindparam("search_email_pattern")
            return Case.contact_email.like(pattern, escape="\\")
        # A range uses the plain index (SQLite's LIKE is case-blind and would not).
        return and_(
            Case.contact_email >= bindparam("search_email_from"),
            Case.contact_email < bindparam("search_email_to"),
        )
    if kind == "email_or_words":
        return or_(
            search_condition_of_kind("email", dialect),
            search_condition_of_kind("words", dialect),
        )
    if kind == "words":
        if dialect == "postgresql":
            document = POSTGRES_DOCUMENT.format(table="cases.")
            return text(f"{document} @@ plainto_tsquery('english', :search_words)").bindparams(
                bindparam("search_words")
            )
        matching = select(text("rowid")).select_from(text(FTS_TABLE)).where(_fts_match())
        return Case.id.in_(matching)
    return false()


def newest_matching_words_sqlite(
    conditions: list[ColumnElement[bool]], *, before_id, limit: int
) -> Select:
    """SQLite: the ids of the cases matching the words (parameter search_words) and the
    conditions, newest first. FTS5 hands out its matches in rowid order, newest first when
    asked, so reading stops once a page is found instead of sorting every match."""
    fts = table(FTS_TABLE, column("rowid"))
    if before_id is not None:
        conditions = [*conditions, fts.c.rowid < before_id]
    return (
        select(Case.id)
        .select_from(fts)
        .join(Case, Case.id == fts.c.rowid)
        .where(_fts_match(), *conditions)
        .order_by(fts.c.rowid.desc())
        .limit(limit)
    )


def _fts_match():
    """SQLite: the FTS5 table matches the words (parameter search_words)."""
    return text(f"{FTS_TABLE} MATCH :search_words").bindparams(
        sql_bindparam("search_words", type_=String())
    )


def fts5_query(term: str) -> str | None:
    """Each word quoted, so nothing typed is read as FTS5 syntax (AND, NEAR, *, ^, columns)."""
    words = _WORD.findall(term)[:MAX_TERMS]
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)
