"""The case policy, re-read when its file changes, with its calendars' days.

Workers get the policy as loaded; when the file's modification time moves,
the next worker reads it again. Every read is checked whole (policy_schema.py,
and the holidays file of each calendar): a file that does not load is
refused with a message naming the file and the key, so at start the service
stops, and on a re-read the message is logged and the last good policy stays
in force. The cases the old version timed are re-timed by the service's
recompute timer.
"""
import logging
import os

from nameko.extensions import DependencyProvider

from services.case_supervision.policy_schema import CasesPolicy, Holidays
from shared import policy as files
from shared.policy import PolicyError

log = logging.getLogger(__name__)


def policy_path(config):
    return files.policy_path(config, "cases")


def read_policy(path):
    """The policy at `path`, each calendar with its holidays file inlined as
    `days`; PolicyError when the file or a holidays file cannot run."""
    policy = files.read_file(path, CasesPolicy())
    for cal, spec in (policy.get("calendars") or {}).items():
        days = spec.get("holidays_file")
        if days:
            if not os.path.isabs(days):
                days = os.path.join(os.path.dirname(os.path.abspath(path)), days)
            if not os.path.isfile(days):
                raise PolicyError(path, [(f"calendars.{cal}.holidays_file",
                                          f"no file at {files.shown(days)}")])
            spec["days"] = files.read_file(days, Holidays())
    return policy


class CasePolicy(DependencyProvider):
    def setup(self):
        self.path = policy_path(self.container.config)
        try:
            self.mtime = os.stat(self.path).st_mtime_ns
        except OSError as exc:
            raise PolicyError(self.path, [("", exc.strerror or str(exc))]) from None
        self.policy = read_policy(self.path)

    def current(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
            if mtime != self.mtime:
                # Read once per change, not by every worker until it is fixed.
                self.mtime = mtime
                self.policy = read_policy(self.path)
                log.info("case policy version %s loaded from %s",
                         self.policy["version"], self.path)
        except PolicyError as exc:
            log.error("%s; the case policy stays at version %s", exc, self.policy["version"])
        except Exception:  # whatever else is wrong with the file, the last good policy stays
            log.exception("the case policy at %s does not load; version %s stays",
                          self.path, self.policy["version"])
        return self.policy

    def get_dependency(self, worker_ctx):
        return self.current()
