"""Someone else is here: staff with the same case open see each other, and who is writing."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shared.extensions import db
from shared.models import CaseViewer, utcnow
from shared.services import presence
from tests.support.html import text_of
from tests.support.pages import page_url, signed_in_client


@pytest.fixture
def sam(app, org):
    return signed_in_client(app, org.sam)


@pytest.fixture
def priya(app, org):
    return signed_in_client(app, org.priya)


def report(client, case, **data):
    return client.post(page_url(case, "presence"), data=data)


def viewers(case):
    return db.session.scalars(
        select(CaseViewer).where(CaseViewer.case_id == case.id).order_by(CaseViewer.user_id)
    ).all()


def test_the_page_asks_who_else_is_here_at_once_and_every_ten_seconds(sam, case):
    html = sam.get(page_url(case)).get_data(as_text=True)
    region = re.search(r'<div id="presence"[^>]*>', html).group(0)
    assert 'aria-live="polite"' in region
    assert f'hx-post="{page_url(case, "presence")}"' in region
    assert 'hx-trigger="load, every 10s"' in region
    composer = re.search(r'<textarea[^>]*id="composer-body"[^>]*>', html).group(0)
    assert 'hx-trigger="keyup changed delay:1s"' in composer
    assert 'hx-vals="{&#34;composing&#34;: &#34;1&#34;}"' in composer


def test_two_staff_on_the_same_case_see_each_other_but_not_themselves(sam, priya, case):
    alone = report(sam, case)
    assert alone.status_code == 200
    assert "is viewing" not in text_of(alone)

    seen_by_priya = text_of(report(priya, case))
    seen_by_sam = text_of(report(sam, case))

    assert "Sam Taylor is viewing" in seen_by_priya and "Priya Shah" not in seen_by_priya
    assert "Priya Shah is viewing" in seen_by_sam and "Sam Taylor" not in seen_by_sam


def test_typing_in_the_composer_shows_as_writing_a_reply(sam, priya, case):
    report(priya, case)
    report(sam, case, composing="1")
    assert "Sam Taylor is writing a reply" in text_of(report(priya, case))


def test_a_pause_in_typing_does_not_stop_the_writing_notice_at_once(sam, priya, case, org):
    report(sam, case, composing="1")
    report(sam, case)  # the regular poll, seconds later
    assert "Sam Taylor is writing a reply" in text_of(report(priya, case))


def test_writing_ends_when_no_keystroke_has_come_for_a_while(sam, priya, case):
    report(sam, case, composing="1")
    db.session.execute(update(CaseViewer).values(last_seen_at=utcnow() - timedelta(seconds=20)))
    db.session.commit()
    report(sam, case)  # the regular poll
    assert "Sam Taylor is viewing" in text_of(report(priya, case))


def test_people_not_seen_for_thirty_seconds_have_gone(sam, priya, case):
    report(sam, case, composing="1")
    db.session.execute(update(CaseViewer).values(last_seen_at=utcnow() - timedelta(seconds=31)))
    db.session.commit()
    assert "Sam Taylor" not in text_of(report(priya, case))


def test_reporting_again_updates_one_row_per_person_and_case(sam, case, org):
    for composing in ("1", None, "0", None):
        data = {"composing": composing} if composing is not None else {}
        assert report(sam, case, **data).status_code in (200, 204)
    [row] = viewers(case)
    assert row.user_id == org.sam.id and row.composing is False


def test_sending_a_message_clears_the_writing_notice(sam, priya, case, org):
    report(sam, case, composing="1")
    page = sam.get(page_url(case)).get_data(as_text=True)
    version = re.search(r'<input name="version" type="hidden" value="(\d+)">', page).group(1)
    seen = re.search(r'<input name="seen_event_id" type="hidden" value="(\d+)">', page).group(1)
    sam.post(page_url(case, "messages"),
             data={"version": version, "seen_event_id": seen, "kind": "note", "body": "Done."})
    assert "Sam Taylor is viewing" in text_of(report(priya, case))


def test_an_unchanged_answer_is_not_sent_again(sam, priya, case):
    report(sam, case)
    first = report(priya, case)
    shown = re.search(r'name="shown" value="([^"]*)"', first.get_data(as_text=True)).group(1)
    assert shown == "Sam Taylor is viewing"

    assert report(priya, case, shown=shown).status_code == 204  # nothing new to announce
    report(sam, case, composing="1")
    changed = report(priya, case, shown=shown)
    assert changed.status_code == 200
    assert "Sam Taylor is writing a reply" in text_of(changed)


def test_presence_is_for_staff_only(client, login_as, case):
    assert report(client, case).status_code == 302
    login_as(case.customer)
    assert report(client, case).status_code == 403
    assert viewers(case) == []


def test_an_unknown_case_is_not_found(sam):
    assert sam.post("/staff/cases/AM-999999/presence").status_code == 404


def test_others_present_lists_writers_first(app, org, case):
    for person, composing in ((org.jo, False), (org.priya, True), (org.manager, False)):
        presence.report_presence(case, person, composing=composing)
    db.session.commit()
    words = [p.words for p in presence.others_present(case, org.sam)]
    assert words == ["Priya Shah is writing a reply", "Jo Evans is viewing",
                     "Morgan Lee is viewing"]


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_the_page_gives_htmx_the_token_it_needs_to_report_presence(self, sam, case):
        html = sam.get(page_url(case)).get_data(as_text=True)
        token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)

        assert report(sam, case).status_code == 400  # no token: refused
        allowed = sam.post(page_url(case, "presence"), headers={"X-CSRFToken": token})
        assert allowed.status_code == 200
