"""`python -m tools.openapi`: the docs page's static folder, docs/api/.

Writes the three services' OpenAPI 3.1 documents as one (their paths under
the front door's /api/intake, /api/cases, /api/notify; shared/openapi.merged)
to docs/api/openapi.json, and copies Swagger UI's script and style from
tools/docs-ui/node_modules (`npm ci` there, which `make docs` runs) beside
docs/api/index.html. No broker or database is needed: the documents are
made from the service classes.

    python -m tools.openapi                    # docs/api/: openapi.json and Swagger UI
    python -m tools.openapi --service notify   # one service's document, to stdout
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

from shared.quiet import quiet_eventlet

quiet_eventlet()  # before anything imports nameko, which imports eventlet

from nameko.containers import ServiceContainer  # noqa: E402

from shared import docs_page  # noqa: E402
from shared.openapi import merged, openapi  # noqa: E402

UI_PACKAGE = Path(__file__).resolve().parent / "docs-ui" / "node_modules" / "swagger-ui-dist"


def service_classes():
    from services.case_supervision.service import CaseSupervisionService
    from services.intake.service import IntakeService
    from services.notify.service import NotifyService
    return (IntakeService, CaseSupervisionService, NotifyService)


def documents():
    """{service name: its OpenAPI 3.1 document}, as each serves it."""
    return {cls.name: openapi(ServiceContainer(cls, {"AMQP_URI": "memory://"}),
                              f"FastTrack {cls.name}")
            for cls in service_classes()}


def merged_document():
    return merged(documents())


def build(out_dir=docs_page.DOCS_DIR, ui_package=UI_PACKAGE):
    """docs/api/ complete: the merged document and the Swagger UI files."""
    missing = [name for name in docs_page.VENDORED if not (ui_package / name).is_file()]
    if missing:
        sys.exit(f"{ui_package} lacks {', '.join(missing)}: "
                 "run `npm ci --ignore-scripts --prefix tools/docs-ui` (make docs)")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in docs_page.VENDORED:
        shutil.copyfile(ui_package / name, out_dir / name)
    (out_dir / "openapi.json").write_text(
        json.dumps(merged_document(), indent=1, ensure_ascii=False) + "\n")
    return out_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", choices=["intake", "case_supervision", "notify"],
                        help="print this service's own document and stop")
    args = parser.parse_args(argv)
    if args.service:
        print(json.dumps(documents()[args.service], indent=1, ensure_ascii=False))
        return
    out = build()
    print(f"{out}/: index.html, openapi.json, {', '.join(docs_page.VENDORED)}")


if __name__ == "__main__":
    main()
