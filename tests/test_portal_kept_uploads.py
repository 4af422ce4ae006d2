"""Files on a form sent back with an error: refused by name when too large, otherwise kept
for the retry, claimable only by the browser that chose them, and swept after a day."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from shared import services
from shared.extensions import db
from shared.models import Attachment, Case, EventKind, PendingUpload, TimelineEvent
from shared.models.types import utcnow
from shared.services import attachments
from shared.sweep import run_sweep
from tests import factories
from tests.support.html import error_beside, field_block, input_value, text_of, textarea_text

DESCRIPTION = "The courier left my parcel in the rain and the box was soaked through."
MEGABYTE = 1024 * 1024


def complaint(org, **changes):
    data = {
        "name": "Alex Carter",
        "email": "alex@example.com",
        "category": str(org.delivery.id),
        "description": DESCRIPTION,
        "desired_outcome": "A replacement, please.",
        "external_reference": "ORD-1234",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post_form(client, url, data):
    """Post `data` as the browser does; the encoded body, spooled to disk when large, is
    closed afterwards (the test client leaves a large one open)."""
    as_files = {
        key: [FileStorage(stream, name) for stream, name in value]
        if isinstance(value, list) and value and isinstance(value[0], tuple)
        else FileStorage(*value)
        if isinstance(value, tuple)
        else value
        for key, value in data.items()
    }
    body, length, boundary = stream_encode_multipart(as_files)
    try:
        return client.post(
            url,
            input_stream=body,
            content_length=length,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    finally:
        body.close()


class LargeFile(io.RawIOBase):
    """A PDF of `size` bytes, produced as it is read, so the test holds none of it."""

    def __init__(self, size: int):
        self.remaining = size
        self.head = b"%PDF-1.7\n"

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.remaining if n is None or n < 0 else min(n, self.remaining)
        chunk, self.head = (self.head[:n], self.head[n:]) if self.head else (b"", b"")
        chunk += b"0" * (n - len(chunk))
        self.remaining -= len(chunk)
        return chunk


def kept_tokens(html: str) -> dict[str, str]:
    """Each kept file's name and the signed token its ticked box carries."""
    return dict(
        (name, token)
        for token, name in re.findall(
            r'name="kept_uploads" value="([^"]+)" checked>\s*<label[^>]*>([^<]+?) <span', html
        )
    )


def pending_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    names = {p.stored_name for p in db.session.scalars(select(PendingUpload))}
    return [folder / name for name in names]


# --- A file over the size limit ---------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_by_name_with_every_field_kept(client, org):
    # 70 MB: a phone video, more than the whole body Werkzeug accepted before (60 MB).
    data = complaint(
        org,
        on_behalf_of="Pat Carter",
        representative_relationship="relative",
        attachments=[
            (LargeFile(70 * MEGABYTE), "receipt.pdf"),
            (io.BytesIO(factories.PNG_BYTES), "box.png"),
        ],
    )

    response = post_form(client, "/complaints/new", data)

    assert response.status_code == 422
    html = text_of(response)
    assert error_beside(html, "attachments") == "“receipt.pdf” is larger than 10 MB."
    assert input_value(html, "name") == "Alex Carter"
    assert input_value(html, "email") == "alex@example.com"
    assert input_value(html, "external_reference") == "ORD-1234"
    assert input_value(html, "on_behalf_of") == "Pat Carter"
    assert textarea_text(html, "description") == DESCRIPTION
    assert textarea_text(html, "desired_outcome") == "A replacement, please."
    assert re.search(rf'<input checked [^>]*value="{org.delivery.id}"', html)
    assert re.search(r'<option selected value="relative">', html)
    # The good file is kept for the retry; the one over the limit is not.
    assert list(kept_tokens(html)) == ["box.png"]
    assert db.session.scalars(select(Case)).first() is None


def test_a_reply_with_a_file_over_the_limit_keeps_the_message(login_as, customer, case):
    client = login_as(customer)
    data = {"body": "Here is the receipt.", "attachments": (LargeFile(70 * MEGABYTE), "r.pdf")}

    response = post_form(client, f"/cases/{case.reference}/reply", data)

    assert response.status_code == 422
    html = text_of(response)
    assert "“r.pdf” is larger than 10 MB." in field_block(html, "attachments")
    assert textarea_text(html, "body") == "Here is the receipt."


class TestAnAbsurdBody:
    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": 100_000}

    def test_says_what_happened_and_that_back_keeps_the_text(self, client, org):
        data = complaint(org, attachments=(LargeFile(200_000), "receipt.pdf"))

        response = post_form(client, "/complaints/new", data)

        assert response.status_code == 413
        html = text_of(response)
        assert "too much to send at once" in html
        assert "Back button: what you typed is still there" in html


def test_the_file_field_carries_its_limits_for_the_browser(client, org):
    html = text_of(client.get("/complaints/new"))

    file_input = re.search(r'<input[^>]*id="attachments"[^>]*>', html).group(0)
    assert f'data-max-bytes="{10 * MEGABYTE}"' in file_input
    assert 'data-max-files="5"' in file_input


# --- Kept for the retry -----------------------------------------------------------------------


def test_a_chosen_file_is_kept_after_an_error_and_the_retry_attaches_it(app, client, org):
    data = complaint(org, name="", attachments=(io.BytesIO(factories.PNG_BYTES), "photo.png"))

    refused = post_form(client, "/complaints/new", data)

    assert refused.status_code == 422
    html = text_of(refused)
    assert "Already attached" in html
    tokens = kept_tokens(html)
    assert list(tokens) == ["photo.png"]
    [kept_file] = pending_files(app)
    assert kept_file.read_bytes() == factories.PNG_BYTES

    sent = post_form(client, "/complaints/new", complaint(org, kept_uploads=tokens["photo.png"]))

    assert sent.status_code == 302
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert attachment.original_name == "photo.png"
    assert attachment.event.kind == EventKind.CREATED
    stored = Path(app.config["UPLOAD_FOLDER"]) / attachment.stored_name
    assert stored.read_bytes() == factories.PNG_BYTES
    assert db.session.scalars(select(PendingUpload)).first() is None
    assert not kept_file.exists()


def test_kept_files_and_new_ones_are_attached_together(client, org):
    first = post_form(
        client,
        "/complaints/new",
        complaint(org, description="", attachments=(io.BytesIO(factories.PNG_BYTES), "one.png")),
    )
    token = kept_tokens(text_of(first))["one.png"]

    second = post_form(
        client,
        "/complaints/new",
        complaint(
            org, kept_uploads=token, attachments=(io.BytesIO(factories.PNG_BYTES), "two.png")
        ),
    )

    assert second.status_code == 302
    names = sorted(a.original_name for a in db.session.scalars(select(Attachment)))
    assert names == ["one.png", "two.png"]


def test_an_unticked_kept_file_is_left_out_and_forgotten(app, client, org):
    first = post_form(
        client,
        "/complaints/new",
        complaint(org, name="", attachments=(io.BytesIO(factories.PNG_BYTES), "one.png")),
    )
    assert kept_tokens(text_of(first))
    [kept_file] = pending_files(app)

    second = post_form(client, "/complaints/new", complaint(org))

    assert second.status_code == 302
    assert db.session.scalars(select(Attachment)).first() is None
    assert db.session.scalars(select(PendingUpload)).first() is None
    assert not kept_file.exists()


def test_a_form_sent_back_again_keeps_only_what_it_still_carries(app, client, org):
    for attempt in range(3):
        post_form(
            client,
            "/complaints/new",
            complaint(
                org, name="", attachments=(io.BytesIO(factories.PNG_BYTES), f"try{attempt}.png")
            ),
        )

    assert [p.original_name for p in db.session.scalars(select(PendingUpload))] == ["try2.png"]
    assert len(list(Path(app.config["UPLOAD_FOLDER"]).iterdir())) == 1


def test_kept_files_still_count_towards_the_limit_of_five(client, org):
    photos = [(io.BytesIO(factories.PNG_BYTES), f"p{n}.png") for n in range(4)]
    first = post_form(client, "/complaints/new", complaint(org, name="", attachments=photos))
    tokens = list(kept_tokens(text_of(first)).values())
    assert len(tokens) == 4

    more = [(io.BytesIO(factories.PNG_BYTES), f"q{n}.png") for n in range(2)]
    second = post_form(
        client, "/complaints/new", complaint(org, kept_uploads=tokens, attachments=more)
    )

    assert second.status_code == 422
    html = text_of(second)
    assert error_beside(html, "attachments") == "Attach 5 files at most."
    assert len(kept_tokens(html)) == 5  # all it can carry; the sixth must be left out
    assert db.session.scalars(select(Case)).first() is None


def test_a_reply_sent_back_keeps_its_file_for_the_retry(login_as, customer, case):
    client = login_as(customer)
    url = f"/cases/{case.reference}/reply"
    refused = post_form(
        client, url, {"body": "", "attachments": (io.BytesIO(factories.PNG_BYTES), "box.png")}
    )
    assert refused.status_code == 422
    token = kept_tokens(text_of(refused))["box.png"]

    sent = post_form(client, url, {"body": "A photo of the box.", "kept_uploads": token})

    assert sent.status_code == 302
    [attachment] = db.session.scalars(select(Attachment)).all()
    reply = db.session.get(TimelineEvent, attachment.event_id)
    assert reply.kind == EventKind.CUSTOMER_REPLY
    assert attachment.original_name == "box.png"


# --- Only the browser that chose them -----------------------------------------------------------


def test_another_browser_cannot_claim_a_kept_file(app, client, org):
    refused = post_form(
        client,
        "/complaints/new",
        complaint(org, name="", attachments=(io.BytesIO(factories.PNG_BYTES), "private.png")),
    )
    token = kept_tokens(text_of(refused))["private.png"]

    stranger = app.test_client()
    response = post_form(
        stranger, "/complaints/new", complaint(org, email="kim.lee@example.net", kept_uploads=token)
    )

    assert response.status_code == 302
    assert db.session.scalars(select(Attachment)).first() is None
    assert db.session.scalars(select(PendingUpload)).one().original_name == "private.png"


def test_a_file_kept_for_one_case_cannot_be_claimed_on_another(login_as, org, customer, case):
    other = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    services.commit()
    client = login_as(customer)
    refused = post_form(
        client,
        f"/cases/{case.reference}/reply",
        {"body": "", "attachments": (io.BytesIO(factories.PNG_BYTES), "box.png")},
    )
    token = kept_tokens(text_of(refused))["box.png"]

    sent = post_form(
        client, f"/cases/{other.reference}/reply", {"body": "Hello", "kept_uploads": token}
    )

    assert sent.status_code == 302
    assert db.session.scalars(select(Attachment)).first() is None


def test_a_forged_token_claims_nothing(client, org):
    refused = post_form(
        client,
        "/complaints/new",
        complaint(org, name="", attachments=(io.BytesIO(factories.PNG_BYTES), "photo.png")),
    )
    assert kept_tokens(text_of(refused))
    raw_token = db.session.scalars(select(PendingUpload)).one().token

    sent = post_form(client, "/complaints/new", complaint(org, kept_uploads=raw_token))

    assert sent.status_code == 302
    assert db.session.scalars(select(Attachment)).first() is None


# --- The sweep --------------------------------------------------------------------------------


def test_the_sweep_removes_kept_files_older_than_a_day(app, org):
    folder = Path(app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    for name, age in (("stale", timedelta(hours=25)), ("fresh", timedelta(hours=23))):
        (folder / name).write_bytes(factories.PNG_BYTES)
        db.session.add(
            PendingUpload(
                token=f"token-{name}",
                owner_key="browser",
                form_key="raise_case",
                original_name=f"{name}.png",
                content_type="image/png",
                size_bytes=len(factories.PNG_BYTES),
                stored_name=name,
                created_at=now - age,
            )
        )
    services.commit()

    run_sweep(now)

    assert [p.stored_name for p in db.session.scalars(select(PendingUpload))] == ["fresh"]
    assert not (folder / "stale").exists()
    assert (folder / "fresh").exists()


def test_kept_files_cannot_fill_the_disk(client, org, monkeypatch):
    monkeypatch.setattr(attachments, "PENDING_UPLOADS_MAX_FILES_OF_SPACE", 0)

    response = post_form(
        client,
        "/complaints/new",
        complaint(org, name="", attachments=(io.BytesIO(factories.PNG_BYTES), "photo.png")),
    )

    html = text_of(response)
    assert kept_tokens(html) == {}
    assert "We could not keep “photo.png” for you: choose it again." in field_block(
        html, "attachments"
    )
    assert db.session.scalars(select(PendingUpload)).first() is None
