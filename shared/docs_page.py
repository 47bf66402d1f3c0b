"""The human-readable API docs page: Swagger UI, installed from the npm
registry (tools/docs-ui/package.json, `make docs`) and served by us, never
from a CDN: police networks are closed.

docs/api/ is one static folder: index.html and init.js (committed), and at
build the Swagger UI files and the merged document (tools/openapi.py). The
front door serves the folder at /api/docs/; each service serves the same
page at /docs/ with its own document, so it is reachable without one. Every
reference in the page is relative, so it works under any prefix.
"""
from pathlib import Path

from werkzeug.wrappers import Response

from shared.errors import NotFound, Unavailable

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "api"
# Copied from tools/docs-ui/node_modules/swagger-ui-dist/ at build.
VENDORED = ("swagger-ui-bundle.js", "swagger-ui.css")
TYPES = {"index.html": "text/html; charset=utf-8", "init.js": "text/javascript; charset=utf-8",
         "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
         "swagger-ui.css": "text/css; charset=utf-8"}


def asset(name):
    """One file of the page (only those named in TYPES: no path is read
    from the request)."""
    if name not in TYPES:
        raise NotFound("no such file")
    path = DOCS_DIR / name
    if not path.is_file():
        raise Unavailable("the docs page is not built: run make docs")
    response = Response(path.read_bytes(), mimetype=TYPES[name].split(";")[0])
    response.headers["Content-Type"] = TYPES[name]
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
