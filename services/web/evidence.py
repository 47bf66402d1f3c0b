"""Evidence files through the web app, for the business's and the
officer's pages: an upload from a browser form streamed on to intake, and a
download streamed back from intake as an attachment. The browser never
talks to intake itself, so it never holds a token."""
from typing import Any, Optional

from werkzeug.wrappers import Response

from services.web.api import ApiError, NotFound
from services.web.pages import Page

CHUNK = 64 * 1024
# What a download keeps of intake's answer: never rendered, never sniffed.
PASSED = ("Content-Type", "Content-Length", "Content-Disposition", "Content-Range",
          "Accept-Ranges", "ETag")


def chosen(files) -> list:
    """The file inputs a person actually filled (an empty input sends a
    part without a name)."""
    return [f for f in files if f and f.filename]


def send(p: Page, report_id: str, code: str, upload,
         path: Optional[str] = None) -> Optional[str]:
    """One browser upload to one checklist item (or to `path`); None, or
    what intake said against it (a type refused, a limit reached) in the
    person's language."""
    try:
        p.api("intake").send_file(path or f"/reports/{report_id}/materials/{code}/files",
                                  upload.stream, upload.mimetype, upload.filename)
    except NotFound:
        raise
    except ApiError as exc:
        if exc.status not in (400, 409, 413, 415, 422):
            raise
        return p.t("{name}: {problem}", name=upload.filename, problem=exc.detail)
    return None


def listing(p: Page, report_id: str) -> dict:
    """The report's files by checklist item, oldest first."""
    items = p.api("intake").get(f"/reports/{report_id}/files")["items"]
    by_code: dict[str, list[Any]] = {}
    for f in items:
        by_code.setdefault(f.get("code") or "other", []).append(f)
    return by_code


def download(p: Page, file_id: str) -> Response:
    """intake's answer streamed through, with its own headers: an
    attachment, nosniff, sandboxed; a Range asked for is passed on."""
    api = p.api("intake")
    resp = api.open_file(f"/files/{file_id}", p.request.headers.get("Range"))
    out = Response(resp.iter_content(CHUNK), status=resp.status_code,
                   direct_passthrough=True)
    for name in PASSED:
        if name in resp.headers:
            out.headers[name] = resp.headers[name]
    out.headers["X-Content-Type-Options"] = "nosniff"
    out.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    out.call_on_close(resp.close)
    return out


def size(n) -> str:
    """A file's size as a person reads it."""
    n = int(n or 0)
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"
