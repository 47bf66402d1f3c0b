"""`nameko` with eventlet's deprecation notice filtered: `python -m tools.serve run ...`."""
import sys

from shared.quiet import quiet_eventlet

quiet_eventlet()

from nameko.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
