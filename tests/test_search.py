"""Searching cases by reference, customer email or words, on SQLite FTS5 and PostgreSQL."""


import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from shared import queues
from shared.app import create_app
from shared.extensions import db
from shared.models import Case, CaseStatus
from shared.search import (
    FTS_OBJECT_NAMES,
    first_string_after_every_extension_of,
    fts5_query,
    search_parameters,
)
from tests import factories
from tests.support.services import empty_database


def found(term, key="all", user=None, org=None) -> set[str]:
    user = user or org.sam
    calendars = queues.load_calendars()
    options = queues.load_filter_options()
    filters = queues.parse_filters({"q": term}, options)
    page = queues.queue_page(key, queues.viewer_for(user, calendars), filters,
                             calendars=calendars, category_calendars=options.category_calendars)
    return {row.reference for row in page.rows}


def raise_case(org, description="My parcel arrived crushed.", email="alex@example.com",
               name="Alex Carter", **fields):
    case = factories.raise_case(org.delivery, description=description, email=email, name=name,
                                **fields)
    db.session.commit()
    return case


@pytest.fixture
def cases(org):
    return {
        "washer": raise_case(org, "The washing machine door was dented on delivery.",
                             email="amara.okafor@example.org", name="Amara Okafor",
                             desired_outcome="A new door fitted this week."),
        "bill": raise_case(org, "I was charged twice for my October bill.",
                           email="ben.hughes@example.com", name="Ben Hughes",
                           desired_outcome="The second payment refunded."),
        "parcel": raise_case(org, "My parcel arrived crushed and soaked.",
                             email="alex@example.com", name="Alex Carter"),
    }


# --- By reference -------------------------------------------------------------------------------


def test_a_reference_finds_exactly_that_case_whatever_its_case(org, cases):
    bill = cases["bill"]
    assert found(bill.reference, org=org) == {bill.reference}
    assert found(bill.reference.lower(), org=org) == {bill.reference}
    number = int(bill.reference.split("-")[1])
    assert found(f"am-{number}", org=org) == {bill.reference}  # the zeros may be left out


def test_a_reference_is_never_a_partial_match(org, cases):
    washer = cases["washer"]
    assert found(washer.reference[:-1], org=org) == set()
    assert found("AM-999999", org=org) == set()


# --- By customer email --------------------------------------------------------------------------


def test_an_email_address_finds_its_cases_exactly_or_by_its_start(org, cases):
    washer = cases["washer"]
    assert found("amara.okafor@example.org", org=org) == {washer.reference}
    assert found("AMARA.Okafor@Example.org", org=org) == {washer.reference}
    assert found("amara.okafor@ex", org=org) == {washer.reference}
    assert found("amara.okafor@example.com", org=org) == set()


@pytest.mark.parametrize(
    "term", ["%@example.com", "_lex@example.com", "a%@", "\\@", "%", "_lex", "q%"]
)
def test_wildcards_typed_in_an_email_are_plain_characters(org, cases, term):
    assert found(term, org=org) == set()


def test_the_start_of_an_address_finds_its_cases_before_the_at_sign_too(org, cases):
    # Named otherwise than the address, so only the address can find it.
    jordan = raise_case(org, "The courier left my parcel in the rain.",
                        email="jordan.rivers@example.net", name="J. Smith")

    assert found("jordan.riv", org=org) == {jordan.reference}
    assert found("Jordan.Rivers", org=org) == {jordan.reference}
    assert found("amara", org=org) == {cases["washer"].reference}  # the address starts so
    assert found("rivers", org=org) == set()  # the start, not any part
    # A single word still finds what the words say.
    assert found("dented", org=org) == {cases["washer"].reference}
    assert found("rain", org=org) == {jordan.reference}


@pytest.mark.parametrize("last", ["\U0010ffff", "\ud7ff", "\uffff", "\U0001f600"])
@pytest.mark.parametrize("before", ["a@", "zz", "amara.okafor@example.or"])
def test_an_address_start_ending_in_any_character_is_searched(org, cases, login_as, before,
                                                              last):
    """The upper bound of the address range is the next character: there is none after
    U+10FFFF, and the one after U+D7FF is a surrogate, which no text can hold."""
    response = login_as(org.sam).get("/staff/queues/all", query_string={"q": before + last})

    assert response.status_code == 200
    assert found(before + last, org=org) == set()


def test_the_first_string_after_every_extension_skips_what_is_no_character():
    assert first_string_after_every_extension_of("ann@ex") == "ann@ey"
    assert first_string_after_every_extension_of("a@\ud7ff") == "a@\ue000"
    assert first_string_after_every_extension_of("a@\U0010ffff") == "a@"[:-1] + "A"
    assert first_string_after_every_extension_of("\U0010ffff\U0010ffff") is None


# --- By words -----------------------------------------------------------------------------------


def test_words_find_cases_by_what_happened_what_would_put_it_right_and_the_name(org, cases):
    assert found("dented", org=org) == {cases["washer"].reference}
    assert found("payment refunded", org=org) == {cases["bill"].reference}
    assert found("Okafor", org=org) == {cases["washer"].reference}


def test_every_word_must_match_in_any_order_and_word_forms_count(org, cases):
    assert found("door washing", org=org) == {cases["washer"].reference}
    assert found("crush", org=org) == {cases["parcel"].reference}  # "crushed"
    assert found("washing bill", org=org) == set()


@pytest.mark.parametrize(
    "term",
    [
        'parcel"',
        "NEAR(parcel crushed)",
        "description:parcel",
        "parcel*",
        "-parcel",
        "parcel OR bill",
        "parcel AND NOT soaked",
        "^parcel",
        "(parcel",
        "'; DROP TABLE cases; --",
        "parcel\\",
        "%%%",
        '""',
    ],
)
def test_search_syntax_typed_by_people_is_only_ever_words(org, cases, login_as, term):
    response = login_as(org.sam).get("/staff/queues/all", query_string={"q": term})

    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Case)) == 3
    if term == "parcel OR bill":
        # Not an OR: every word must match, and no case has both "parcel" and "bill".
        page = response.get_data(as_text=True)
        assert cases["parcel"].reference not in page and cases["bill"].reference not in page


def test_each_fts5_term_is_quoted():
    assert fts5_query('crushed "box" NEAR') == '"crushed" "box" "NEAR"'
    assert fts5_query("***") is None


def test_the_search_index_follows_edits_and_deletions(org, cases):
    washer = cases["washer"]
    washer.description = "The tumble dryer squeaks."
    db.session.commit()
    assert found("dented", org=org) == set()
    assert found("squeaks", org=org) == {washer.reference}

    db.session.delete(washer)
    db.session.commit()
    assert found("squeaks", org=org) == set()


def test_search_stays_within_the_queue_it_is_typed_in(org, cases, login_as):
    parcel = cases["parcel"]
    parcel.owner = org.priya
    db.session.commit()

    assert found("crushed", key="mine", user=org.priya, org=org) == {parcel.reference}
    assert found("crushed", key="mine", user=org.sam, org=org) == set()
    page = login_as(org.sam).get("/staff/?q=crushed").get_data(as_text=True)
    assert "No cases in this queue match these filters." in page
    assert 'href="/staff/queues/all?q=crushed"' in page


def test_a_search_shows_what_was_searched_for_and_keeps_it_in_the_box(org, cases, login_as):
    page = login_as(org.sam).get("/staff/queues/all?q=dented").get_data(as_text=True)

    assert cases["washer"].reference in page
    assert cases["bill"].reference not in page
    assert 'name="q" value="dented"' in page
    assert "Showing 1 case matching “dented”." in page


def test_closed_cases_are_found_in_all_cases(org, cases):
    bill = cases["bill"]
    bill.status = CaseStatus.CLOSED
    db.session.commit()
    assert found("October", org=org) == {bill.reference}
    assert found("October", key="mine", org=org) == set()


def test_word_searches_page_newest_first_through_every_match_with_filters(org):
    matching = [
        raise_case(org, f"Washing machine fault number {n}.", email=f"c{n}@example.com")
        for n in range(11)
    ]
    for case in matching[::3]:
        case.priority = "urgent"
    raise_case(org, "My parcel arrived crushed.")  # no match, newest of all
    calendars = queues.load_calendars()
    options = queues.load_filter_options()

    def walk(args, page_size=4):
        seen, cursor = [], None
        while True:
            filters = queues.parse_filters({**args, **({"after": cursor} if cursor else {})},
                                           options)
            page = queues.queue_page("all", queues.viewer_for(org.sam, calendars), filters,
                                     calendars=calendars,
                                     category_calendars=options.category_calendars,
                                     page_size=page_size)
            seen += [row.reference for row in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                return seen

    newest_first = sorted(matching, key=lambda case: case.id, reverse=True)
    assert walk({"q": "washing machines"}) == [case.reference for case in newest_first]
    assert walk({"q": "washing", "priority": "urgent"}, page_size=2) == [
        case.reference for case in newest_first if case.priority == "urgent"
    ]


# --- The migration builds the same search --------------------------------------------------------


@pytest.fixture
def migrated_app(tmp_path):
    """An app on a database built by the migrations, not by create_all()."""
    with empty_database("amends_search", tmp_path) as (url, options):
        app = create_app({
            "TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": options, "UPLOAD_FOLDER": str(tmp_path),
            "MAIL_SERVER": None,
        })
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()


def test_a_migrated_database_searches_words_and_keeps_the_index_in_step(migrated_app):
    org = factories.make_organisation()
    case = factories.raise_case(org.delivery, description="The fridge freezer hums loudly.")
    db.session.commit()
    assert found("freezer", org=org) == {case.reference}

    case.description = "The oven door is cracked."
    db.session.commit()
    assert found("freezer", org=org) == set()
    assert found("cracked oven", org=org) == {case.reference}

    db.session.remove()  # PostgreSQL: an open read would block the DROP INDEX below
    downgrade(revision="22747e26aec5")
    inspector = inspect(db.engine)
    names = set(inspector.get_table_names()) | {
        index["name"] for index in inspector.get_indexes("cases")
    }
    assert names & FTS_OBJECT_NAMES == set()
    assert "cases" in names


def test_a_search_term_is_a_kind_of_search_and_its_values():
    assert search_parameters("  ", "sqlite") is None
    assert search_parameters("am-12", "sqlite") == (
        "reference", {"search_reference": "AM-000012"})
    assert search_parameters("Ann@Ex", "sqlite") == (
        "email", {"search_email_from": "ann@ex", "search_email_to": "ann@ey"})
    assert search_parameters("ann_1%@", "postgresql") == (
        "email", {"search_email_pattern": "ann\\_1\\%@%"})
    assert search_parameters("washing machine", "sqlite") == (
        "words", {"search_words": '"washing" "machine"'})
    assert search_parameters("washing machine", "postgresql") == (
        "words", {"search_words": "washing machine"})
    assert search_parameters("!! ??", "sqlite") == ("nothing", {})
    # One run of characters may be the start of an address as well as a word.
    assert search_parameters("Jordan.Riv", "sqlite") == (
        "email_or_words",
        {"search_email_from": "jordan.riv", "search_email_to": "jordan.riw",
         "search_words": '"Jordan" "Riv"'})
    assert search_parameters("jordan.riv", "postgresql") == (
        "email_or_words", {"search_email_pattern": "jordan.riv%", "search_words": "jordan.riv"})
    assert search_parameters("!!!", "sqlite") == (
        "email", {"search_email_from": "!!!", "search_email_to": "!!\""})
