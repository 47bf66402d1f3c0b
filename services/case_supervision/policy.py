"""The case policy, re-read when its file changes, with its calendars' days.

Workers get the policy as loaded; when the file's modification time moves,
the next worker reads it again. A file that does not load (half-written,
invalid) is logged and the last good policy stays in force. The cases the
old version timed are re-timed by the service's recompute timer.
"""
import logging
import os

import yaml
from nameko.extensions import DependencyProvider

from services.case_supervision import domain
from shared.policy import ROOT

log = logging.getLogger(__name__)
REQUIRED = ("version", "rules", "deadlines", "progress_interval", "escalation")


def policy_path(config):
    return config.get("CASES_POLICY") or os.path.join(ROOT, "policy", "cases.yml")


def read_policy(path):
    """The policy at `path`, each calendar with its holidays file inlined."""
    with open(path, encoding="utf-8") as f:
        policy = yaml.safe_load(f)
    missing = [k for k in REQUIRED if k not in (policy or {})]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    problems = domain.rule_problems(policy["rules"], list(policy["deadlines"] or {}))
    if problems:
        raise ValueError(f"{path}: {'; '.join(problems)}")
    for spec in (policy.get("calendars") or {}).values():
        days = spec.get("holidays_file")
        if days:
            if not os.path.isabs(days):
                days = os.path.join(os.path.dirname(os.path.abspath(path)), days)
            with open(days, encoding="utf-8") as f:
                spec["days"] = yaml.safe_load(f)
    return policy


class CasePolicy(DependencyProvider):
    def setup(self):
        self.path = policy_path(self.container.config)
        self.mtime = os.stat(self.path).st_mtime_ns
        self.policy = read_policy(self.path)

    def current(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
            if mtime != self.mtime:
                self.mtime = mtime
                self.policy = read_policy(self.path)
                log.info("case policy version %s loaded from %s",
                         self.policy["version"], self.path)
        except Exception:  # whatever is wrong with the file, the last good policy stays
            log.exception("the case policy at %s does not load; version %s stays",
                          self.path, self.policy["version"])
        return self.policy

    def get_dependency(self, worker_ctx):
        return self.current()
