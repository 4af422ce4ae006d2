"""Attachments: checked by type, size and content, stored outside static/ under random names."""

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from shared.extensions import db
from shared.models import Attachment, Case, PendingUpload, TimelineEvent, User
from shared.services.errors import RuleViolation

# A form sent back with an error keeps its checked files this long for the retry.
PENDING_UPLOAD_MAX_AGE = timedelta(days=1)
# Kept files of all browsers together stay under this many largest files: forms sent back
# again and again, from ever new sessions, cannot fill the disk before the sweep clears it.
PENDING_UPLOADS_MAX_FILES_OF_SPACE = 200


@dataclass(frozen=True)
class FileKind:
    content_type: str
    signatures: tuple[bytes, ...]  # accepted first bytes; empty = text


# Only what a customer plausibly sends, and only what we can recognise by its content.
ALLOWED_FILE_KINDS = {
    ".pdf": FileKind("application/pdf", (b"%PDF-",)),
    ".png": FileKind("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": FileKind("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": FileKind("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": FileKind("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": FileKind("image/webp", (b"RIFF",)),
    ".txt": FileKind("text/plain; charset=utf-8", ()),
    ".csv": FileKind("text/csv; charset=utf-8", ()),
    ".docx": FileKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xlsx": FileKind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)
    ),
}

ALLOWED_EXTENSIONS_WORDS = "PDF, JPG, PNG, GIF, WEBP, TXT, CSV, DOCX or XLSX"


def chosen_files(files: list[FileStorage] | None) -> list[FileStorage]:
    """The files actually chosen: browsers send an empty part when none was picked, and a
    hand-made request may send text under a file field's name."""
    return [f for f in files or [] if isinstance(f, FileStorage) and f.filename]


def check_uploads(files: list[FileStorage]) -> None:
    """Raise RuleViolation with a message a customer can act on."""
    limit = current_app.config["MAX_ATTACHMENTS"]
    if len(files) > limit:
        raise RuleViolation(f"Attach {limit} files at most.", field="attachments")
    for upload in files:
        _check_one(upload)


def _check_one(upload: FileStorage) -> FileKind:
    name = upload.filename or ""
    kind = ALLOWED_FILE_KINDS.get(Path(name).suffix.lower())
    if kind is None:
        raise RuleViolation(
            f"“{name}” is not a file type we accept. Attach a {ALLOWED_EXTENSIONS_WORDS} file.",
            field="attachments",
        )
    size = _size_of(upload)
    max_bytes = current_app.config["MAX_ATTACHMENT_BYTES"]
    if size == 0:
        raise RuleViolation(f"“{name}” is empty.", field="attachments")
    if size > max_bytes:
        raise RuleViolation(
            f"“{name}” is larger than {max_bytes // (1024 * 1024)} MB.", field="attachments"
        )
    head = upload.stream.read(16)
    upload.stream.seek(0)
    if kind.signatures and not head.startswith(kind.signatures):
        raise RuleViolation(
            f"“{name}” does not look like a {Path(name).suffix[1:].upper()} file.",
            field="attachments",
        )
    if not kind.signatures and b"\x00" in head:
        raise RuleViolation(f"“{name}” is not a plain text file.", field="attachments")
    return kind


def _size_of(upload: FileStorage) -> int:
    upload.stream.seek(0, os.SEEK_END)
    size = upload.stream.tell()
    upload.stream.seek(0)
    return size


def store_attachments(
    case: Case, files: list[FileStorage], *, uploader: User | None, event: TimelineEvent
) -> list[Attachment]:
    check_uploads(files)
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    stored = []
    for upload in files:
        kind = _check_one(upload)
        data = upload.stream.read()
        stored_name = secrets.token_hex(16)
        (folder / stored_name).write_bytes(data)
        attachment = Attachment(
            case=case,
            event=event,
            original_name=_display_name(upload.filename),
            stored_name=stored_name,
            content_type=kind.content_type,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by_id=uploader.id if uploader else None,
        )
        db.session.add(attachment)
        stored.append(attachment)
    return stored


def attachment_path(attachment: Attachment) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / attachment.stored_name


def _display_name(filename: str) -> str:
    # Keep the customer's own name for display, without any path a browser may have sent. A
    # name too long for its column keeps its start and its extension, marked as shortened.
    name = Path(filename.replace("\\", "/")).name or "attachment"
    if len(name) <= 255:
        return name
    suffix = Path(name).suffix[:20]
    return name[: 255 - len(suffix) - 1] + "…" + suffix


# --- Pending uploads: files kept for the retry of a form sent back with an error ------------


@dataclass
class KeptForRetry:
    uploads: list[PendingUpload]
    # Why each file that was not kept was refused, in words for the form.
    refusals: list[str]


def keep_for_retry(
    files: list[FileStorage], *, owner_key: str, form_key: str, already_kept: int = 0
) -> KeptForRetry:
    """Store the chosen files that pass the checks, so the retry need not choose them again.

    A file the checks refuse is not kept; the refusal names it, so the customer knows to choose
    another, even when the form came back for another reason.
    """
    room = current_app.config["MAX_ATTACHMENTS"] - already_kept
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    space_left = _pending_space_left()
    kept, refusals = [], []
    for upload in files:
        if len(kept) >= room:
            refusals.append(f"Attach {current_app.config['MAX_ATTACHMENTS']} files at most.")
            break
        upload.stream.seek(0)
        try:
            kind = _check_one(upload)
        except RuleViolation as violation:
            refusals.append(violation.message)
            continue
        if getattr(upload.stream, "truncated", False):
            continue  # past the files a form may carry: only its first bytes arrived
        data = upload.stream.read()
        upload.stream.seek(0)
        if len(data) > space_left:
            refusals.append(f"We could not keep “{upload.filename}” for you: choose it again.")
            continue
        space_left -= len(data)
        pending = PendingUpload(
            token=secrets.token_urlsafe(32),
            owner_key=owner_key,
            form_key=form_key,
            original_name=_display_name(upload.filename),
            content_type=kind.content_type,
            size_bytes=len(data),
            stored_name=secrets.token_hex(16),
        )
        (folder / pending.stored_name).write_bytes(data)
        db.session.add(pending)
        kept.append(pending)
    db.session.flush()
    return KeptForRetry(kept, refusals)


def _pending_space_left() -> int:
    in_use = db.session.scalar(select(func.coalesce(func.sum(PendingUpload.size_bytes), 0)))
    allowed = PENDING_UPLOADS_MAX_FILES_OF_SPACE * current_app.config["MAX_ATTACHMENT_BYTES"]
    return allowed - in_use


def _pending_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="amends.pending-upload")


def signed_pending_token(pending: PendingUpload) -> str:
    """What the form carries in its hidden field: the upload's token, signed by the server."""
    return _pending_serializer().dumps(pending.token)


def claim_pending_uploads(
    signed_tokens: list[str], *, owner_key: str, form_key: str
) -> list[PendingUpload]:
    """The kept files a form sends back, if they were kept for this browser and this form.

    A token is honoured only when its signature holds, it is under a day old, and its upload
    was kept for the same session key and form: another browser, or another case's form, gets
    nothing, and cannot tell whether the token exists.
    """
    serializer = _pending_serializer()
    tokens = []
    for signed in signed_tokens[: current_app.config["MAX_ATTACHMENTS"]]:
        try:
            token = serializer.loads(signed, max_age=int(PENDING_UPLOAD_MAX_AGE.total_seconds()))
        except (BadData, UnicodeError):  # a bad or expired signature, or no token at all
            continue
        if isinstance(token, str):
            tokens.append(token)
    if not tokens or not owner_key:
        return []
    return list(
        db.session.scalars(
            select(PendingUpload)
            .where(
                PendingUpload.token.in_(tokens),
                PendingUpload.owner_key == owner_key,
                PendingUpload.form_key == form_key,
            )
            .order_by(PendingUpload.id)
        )
    )


def pending_upload_path(pending: PendingUpload) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / pending.stored_name


def pending_as_files(pending_uploads: list[PendingUpload]) -> list[FileStorage]:
    """Kept files as fresh uploads, so they pass exactly the checks a new file passes."""
    files = []
    for pending in pending_uploads:
        path = pending_upload_path(pending)
        if path.is_file():
            files.append(
                FileStorage(
                    stream=path.open("rb"),
                    filename=pending.original_name,
                    content_type=pending.content_type,
                )
            )
    return files


def release_pending_uploads(pending_uploads: list[PendingUpload]) -> list[Path]:
    """Forget uploads that became attachments; their files go once the change is committed."""
    for pending in pending_uploads:
        db.session.delete(pending)
    return [pending_upload_path(pending) for pending in pending_uploads]


def forget_unclaimed_pending_uploads(
    *, owner_key: str, form_key: str, claimed: list[PendingUpload]
) -> list[Path]:
    """Forget this browser's kept files for this form that it did not send back (unticked, or
    left behind): a form keeps only what it still carries, however often it is sent back."""
    claimed_ids = [pending.id for pending in claimed]
    unclaimed = list(
        db.session.scalars(
            select(PendingUpload).where(
                PendingUpload.owner_key == owner_key,
                PendingUpload.form_key == form_key,
                PendingUpload.id.not_in(claimed_ids),
            )
        )
    )
    return release_pending_uploads(unclaimed)


def forget_stale_pending_uploads(now: datetime) -> list[Path]:
    """Forget uploads kept for more than a day; their files go once the change is committed."""
    stale = list(
        db.session.scalars(
            select(PendingUpload).where(PendingUpload.created_at < now - PENDING_UPLOAD_MAX_AGE)
        )
    )
    return release_pending_uploads(stale)


def remove_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
