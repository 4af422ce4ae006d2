"""Request bodies with files: a file over the size limit is counted while it arrives, not kept.

Werkzeug refuses a body over MAX_CONTENT_LENGTH before the view runs, and the text sent with it
is lost. So that limit stays far above what a form may carry, and each file is capped as it is
parsed instead: at most one byte over MAX_ATTACHMENT_BYTES is kept, which is enough for the
attachment checks to refuse it by name ("receipt.pdf is larger than 10 MB") on the form, with
everything typed kept. Disk use stays bounded by the file count, whatever the body's size.
"""

from tempfile import SpooledTemporaryFile

from flask import Request, current_app

# Small files stay in memory, larger ones go to a temporary file, as Werkzeug does by default.
IN_MEMORY_BYTES = 500 * 1024


class CappedFile:
    """A writable container that keeps the first `keep_bytes` written and counts the rest."""

    def __init__(self, keep_bytes: int):
        # Closed with the request's files, as Werkzeug's own containers are.
        self._file = SpooledTemporaryFile(max_size=IN_MEMORY_BYTES, mode="rb+")  # noqa: SIM115
        self.keep_bytes = keep_bytes
        self.received_bytes = 0

    @property
    def truncated(self) -> bool:
        return self.received_bytes > self.keep_bytes

    def write(self, data: bytes) -> int:
        room = self.keep_bytes - self.received_bytes
        if room > 0:
            self._file.write(data[:room])
        self.received_bytes += len(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)


class CappedUploadRequest(Request):
    """Flask's request, with each uploaded file capped as above."""

    _kept_file_bytes = 0

    def _get_file_stream(
        self, total_content_length, content_type, filename=None, content_length=None
    ):
        config = current_app.config
        per_file = config["MAX_ATTACHMENT_BYTES"] + 1
        # Files past the allowed count are refused by the count check; keep them to a trickle.
        budget = config["MAX_ATTACHMENTS"] * per_file - self._kept_file_bytes
        keep = max(1, min(per_file, budget))
        self._kept_file_bytes += keep
        return CappedFile(keep)
