"""Uploads: a size cap enforced while the file streams in, so an oversized upload never fills the disk."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class SizeLimitedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: drops a file once it passes UPLOAD_MAX_BYTES and notes its name.

    It runs before the CSRF check reads the form, so it must work for every request; the form then
    tells the user which file was too large (request.oversized_uploads) instead of "no file".
    """

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            if not hasattr(self.request, "oversized_uploads"):
                self.request.oversized_uploads = []
            self.request.oversized_uploads.append(self.file_name)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


def size_in_words(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.0f} kB"


class UploadError(Exception):
    """A file that cannot be read as the text asked for; the message names the file and what to fix."""


def oversized_message(name: str) -> str:
    return f"'{name}' is larger than the {size_in_words(settings.UPLOAD_MAX_BYTES)} limit: split it into smaller files."


def read_text_file(
    name: str, data: bytes, *, accepted: dict[str, str], described: str, hint: str
) -> tuple[str, str]:
    """A file's text and its kind (`accepted` maps a suffix such as ".csv" to the kind), checked the same
    way for the pages and the management commands: type, size, binary data, UTF-8 (a BOM is dropped),
    emptiness. `described` says what the file should be, `hint` how to fix it."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in accepted:
        raise UploadError(f"'{name}' is not {described}: {hint}.")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise UploadError(oversized_message(name))
    if b"\x00" in data[:8192]:
        raise UploadError(f"'{name}' holds binary data, not text: {hint}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UploadError(
            f"'{name}' is not UTF-8 text (line {line}): save it again as UTF-8 (from a spreadsheet, as "
            "CSV UTF-8)."
        ) from None
    if not text.strip():
        raise UploadError(f"'{name}' is empty: nothing to import.")
    return text, accepted[suffix]
