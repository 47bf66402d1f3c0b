"""Evidence files, pure: what a file may be, what it is called, how it is
told back. No I/O (the streaming is services/intake/uploads.py, the storage
repository.py).

A file's type is what its bytes say (`filetype` reads the first bytes), not
what the client claims: the claim (Content-Type) and the name's extension
must agree with the bytes, or the upload is refused (415). A name is kept
for display only, made harmless here; the storage key is the file id we
chose. Nothing is ever served inline: every download is an attachment, with
the sniffed type, nosniff and a sandboxing CSP.
"""
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import filetype

from shared.errors import ApiError

# "Other evidence": a file that answers no checklist item.
OTHER = "other"
# Enough of a file's start for every signature below (filetype reads 8 KiB;
# DOCX/XLSX name their part a little way into the zip).
SNIFF_BYTES = 8192
# The types we keep: sniffed MIME type -> the extensions a name may carry.
ALLOWED = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/heic": (".heic", ".heif"),
    "video/mp4": (".mp4", ".m4v", ".mov"),
    "video/quicktime": (".mov", ".mp4"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "text/plain": (".txt", ".csv", ".log"),
}
# Claims that mean the same as the sniffed type: a phone's MP4 may carry a
# QuickTime brand and the other way round; "image/jpg" is a common misspelling.
SAME = {"video/mp4": {"video/quicktime"}, "video/quicktime": {"video/mp4"},
        "image/jpeg": {"image/jpg", "image/pjpeg"}, "image/heic": {"image/heif"}}
# A client that does not know the type says this; then the bytes and the
# extension decide.
UNDECLARED = ("application/octet-stream", "")
# Text that a browser would run or draw if it ever rendered it.
MARKUP = re.compile(rb"\A(\xef\xbb\xbf)?\s*<(!doctype|html|svg|\?xml|script)", re.I)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_NAME = 200


class Unsupported(ApiError):
    status, code = 415, "unsupported_media_type"


@dataclass(frozen=True)
class Limits:
    """policy evidence: max_file_bytes, max_report_bytes, max_files_per_item."""
    file_bytes: int
    report_bytes: int
    files_per_item: int

    @classmethod
    def of(cls, policy):
        e = policy["evidence"]
        return cls(e["max_file_bytes"], e["max_report_bytes"], e["max_files_per_item"])


def sniff(head: bytes) -> str | None:
    """The allowed type the file's first bytes show, or None."""
    kind = filetype.guess_mime(head)
    if kind is not None:
        return kind if kind in ALLOWED else None
    if b"\x00" in head or MARKUP.match(head):
        return None
    try:
        # The head may end inside a character: a cut-off last sequence is fine.
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or exc.reason != "unexpected end of data":
            return None
    return "text/plain"


def checked_type(head: bytes, declared: str | None, filename: str) -> str:
    """The type a file is kept and served as; Unsupported when its bytes are
    not an allowed type, or its claim or extension say otherwise."""
    sniffed = sniff(head)
    if sniffed is None:
        raise Unsupported("this kind of file is not accepted: PDF, JPEG, PNG, HEIC, "
                          "MP4, MOV, DOCX, XLSX or plain text")
    claim = (declared or "").split(";")[0].strip().lower()
    if claim not in UNDECLARED and claim != sniffed and claim not in SAME.get(sniffed, ()):
        raise Unsupported("the declared type does not match the file's content",
                          {"content_type": [f"the content is {sniffed}"]})
    if extension(filename) not in ALLOWED[sniffed]:
        raise Unsupported("the file name's extension does not match the file's content",
                          {"filename": [f"the content is {sniffed}"]})
    return sniffed


def extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


def display_name(raw: str | None) -> str:
    """A name safe to show and to put in a header: its last path part, NFC,
    no control characters, no leading dots, at most MAX_NAME characters
    (keeping the extension). Never a storage key."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = CONTROL.sub("", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        ext = extension(name)[:20]
        name = name[:MAX_NAME - len(ext)] + ext
    return name or "file"


def attachment(filename: str) -> str:
    """Content-Disposition for a download (RFC 6266, RFC 5987 filename*): an
    ASCII fallback and the exact UTF-8 name."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7f and c not in '"\\%' else "_"
                       for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def is_code(code: str, report) -> bool:
    """A checklist item of this report, or "other"."""
    return code == OTHER or any(m["code"] == code for m in report["materials"])


def disclosed_at_upload(who, code: str, asked: bool) -> bool:
    """Whether the company sees a new file: its own uploads always, and an
    officer's scan of a checklist item (the company's own papers); an
    officer's other evidence is internal unless the officer discloses it."""
    return who.role == "company" or code != OTHER or asked


def company_sees(record) -> bool:
    """The company's view of a file. Records from before disclosure was
    kept: what an officer uploaded as other evidence stays internal."""
    return (record["uploaded_by"]["role"] == "company"
            or bool(record.get("disclosed", record["code"] != OTHER)))


def visible_to(who, record) -> bool:
    """Police who may read the report see every file; a company only those
    it may see (the route checked the report itself)."""
    return who.role != "company" or company_sees(record)


def may_supersede(who, record) -> bool:
    """A company marks its own uploads wrong, never a file the police
    scanned; police of the owner unit (checked by the route) any file."""
    return who.role != "company" or record["uploaded_by"]["role"] == "company"
