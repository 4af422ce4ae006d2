"""Attachments: checked by type, size and content, stored outside static/ under random names."""

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from shared.extensions import db
from shared.models import Attachment, Case, TimelineEvent, User
from shared.services.errors import RuleViolation


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
    """The files actually chosen: browsers send an empty part when none was picked."""
    return [f for f in files or [] if f and f.filename]


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
        raise RuleViolation(f"“{name}” does not look like a {Path(name).suffix[1:].upper()} file.",
                            field="attachments")
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
    # Keep the customer's own name for display, without any path a browser may have sent.
    return Path(filename.replace("\\", "/")).name[:255] or "attachment"
