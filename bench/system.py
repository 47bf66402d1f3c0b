"""The system under measurement: the bench profile's own broker, database
and three `nameko run` processes (tools/stack.py), started empty, plus what
the benchmark reads from /proc about them (CPU seconds, peak RSS).

CPU is counted per session: tools/stack.py starts every part in a new
session, so each part's whole process tree (the broker's beam and its
helpers, the database server, each service) shares its root's session id.
"""
import os
import secrets
import shutil
import threading

from tools.stack import ROOT, SERVICES, Stack

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid):
    """(session id, utime+stime+cutime+cstime in ticks, rss bytes) or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): field n is fields[n - 3].
    sid = int(fields[6 - 3])
    ticks = sum(int(fields[n - 3]) for n in (14, 15, 16, 17))
    rss = int(fields[24 - 3]) * PAGE
    return sid, ticks, rss


def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


class BenchStack:
    """Starts everything for the benchmark; accounts CPU and memory."""

    def __init__(self, service_env=None):
        self.admin_token = "bench-admin-" + secrets.token_hex(8)
        self.stack = Stack("bench")
        self.service_env = dict(service_env or {})
        self.stack.env.update({
            "FASTTRACK_ADMIN_TOKEN": self.admin_token,
            "FASTTRACK_WEBHOOK_ALLOW_PRIVATE": "1",  # the local webhook receiver
            # A load from one address: the limits stay on, far higher.
            "FASTTRACK_LIMITS_POLICY": os.path.join(ROOT, "policy", "limits-roomy.yml"),
            **self.service_env,
        })
        self.peak_rss = {}
        self._rss_stop = threading.Event()
        self._rss_thread = None

    @property
    def amqp_uri(self):
        return self.stack.env["AMQP_URI"]

    @property
    def mongo_uri(self):
        return self.stack.env["MONGO_URI"]

    def url(self, name):
        return self.stack.service_url(name)

    def start_infra(self):
        s = self.stack
        # Empty data each run. The broker's folder keeps its cookie, so a
        # node left by a killed run can still be told to stop.
        for part in ("db", "rabbitmq/mnesia"):
            shutil.rmtree(os.path.join(s.var, part), ignore_errors=True)
        s.start_infra()

    def start_services(self, extra_env=None):
        for name in SERVICES:
            self.stack.start_service(name, extra_env)
        self._rss_stop.clear()
        self._rss_thread = threading.Thread(target=self._watch_rss, daemon=True)
        self._rss_thread.start()

    def stop_services(self):
        self._rss_stop.set()
        if self._rss_thread:
            self._rss_thread.join(5)
        for name in list(self.stack.services):
            self.stack.stop_service(name)

    def stop_all(self):
        self.stop_services()
        self.stack.stop_all()

    # -- accounting ------------------------------------------------------
    def roots(self):
        """{part: root pid} of every process the stack started."""
        roots = {name: p.pid for name, p in self.stack.services.items()}
        if self.stack.broker_proc:
            roots["broker"] = self.stack.broker_proc.pid
        if self.stack.db_proc:
            roots["database"] = self.stack.db_proc.pid
        return roots

    def cpu_seconds(self):
        """{part: CPU seconds so far} summed over each part's session."""
        by_sid = {pid: name for name, pid in self.roots().items()}
        out = {name: 0 for name in by_sid.values()}
        for pid in _pids():
            st = _stat(pid)
            if st and st[0] in by_sid:
                out[by_sid[st[0]]] += st[1]
        return {k: v / TICK for k, v in out.items()}

    def _watch_rss(self):
        # VmHWM is the kernel's own peak; sampling the tree as well catches
        # a service's children, should it ever have any.
        while not self._rss_stop.wait(0.5):
            self.sample_rss()

    def sample_rss(self):
        for name, proc in list(self.stack.services.items()):
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            kb = int(line.split()[1])
                            self.peak_rss[name] = max(self.peak_rss.get(name, 0), kb * 1024)
            except OSError:
                pass
