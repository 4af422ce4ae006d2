"""List and case pages read what they show in a bounded number of queries, whatever the size."""

from shared import services
from shared.models import EventKind, Visibility
from shared.services.timeline import record_event
from tests import factories


def _queries_for(client, count_queries, url):
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def _cases_for(customer, org, how_many):
    return [factories.raise_case(org.delivery, customer=customer) for _ in range(how_many)]


def test_my_complaints_page_queries_do_not_grow_with_the_number_of_cases(
    app, org, client, login_as, count_queries
):
    few, many = factories.make_customer("few@example.com"), factories.make_customer("many@x.org")
    _cases_for(few, org, 2)
    _cases_for(many, org, 25)
    services.commit()

    login_as(few)
    with_few = _queries_for(client, count_queries, "/cases")
    login_as(many)
    with_many = _queries_for(client, count_queries, "/cases")

    assert with_few == with_many
    assert with_many <= 4


def test_case_page_queries_do_not_grow_with_the_length_of_the_timeline(
    app, org, client, login_as, count_queries
):
    customer = factories.make_customer()
    short_case, long_case = _cases_for(customer, org, 2)
    for number in range(30):
        event = record_event(
            long_case, EventKind.CUSTOMER_REPLY, actor=customer, body=f"message {number}"
        )
        if number % 3 == 0:
            from shared.services.attachments import store_attachments

            store_attachments(long_case, [factories.upload()], uploader=customer, event=event)
        record_event(long_case, EventKind.NOTE, actor=org.sam,
                     visibility=Visibility.INTERNAL, body="internal")
    services.commit()
    login_as(customer)

    short = _queries_for(client, count_queries, f"/cases/{short_case.reference}")
    long = _queries_for(client, count_queries, f"/cases/{long_case.reference}")

    assert short == long
    assert long <= 8


def test_home_page_reads_the_commitments_in_a_fixed_number_of_queries(
    app, org, client, count_queries
):
    assert _queries_for(client, count_queries, "/") <= 5
