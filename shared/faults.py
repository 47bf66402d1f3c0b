"""Fault injection for the crash tests: `FAULT=<point>` in a service's
config (FASTTRACK_FAULT) kills the process with SIGKILL when it reaches that
point, as a power cut would. Unset in production, each hook is one line."""
import logging
import os
import signal

log = logging.getLogger(__name__)


def crash_at(config, point):
    if (config.get("FAULT") or "") == point:
        log.error("fault injection: killing the process at %s", point)
        os.kill(os.getpid(), signal.SIGKILL)
