"""The local stack: a project-local RabbitMQ node, a MongoDB-protocol server
and the three services as separate `nameko run` processes.

Used by `make run`, `make test` and the tests that kill and restart parts.
With AMQP_URI or MONGO_URI set, that part is the operator's and nothing
local is started for it. Every local part lives under var/<profile>/ with
its own ports, so `make run` and `make test` never share a broker or data,
and neither touches a RabbitMQ or mongod already running on the machine.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RABBIT_BIN = "/usr/lib/rabbitmq/bin"

# Ports per profile: run and test side by side on one machine.
PORTS = {
    "run": {"amqp": 5682, "mgmt": 15682, "dist": 25682, "epmd": 4382,
            "mongo": 27117, "intake": 8001, "case_supervision": 8002,
            "notify": 8003, "web": 8004, "front": 8000},
    "test": {"amqp": 5692, "mgmt": 15692, "dist": 25692, "epmd": 4392,
             "mongo": 27127, "intake": 8011, "case_supervision": 8012,
             "notify": 8013, "web": 8014, "front": 8010},
    # `make bench` (bench/run.py): its own broker, database and services.
    "bench": {"amqp": 5702, "mgmt": 15702, "dist": 25702, "epmd": 4402,
              "mongo": 27137, "intake": 8021, "case_supervision": 8022,
              "notify": 8023, "web": 8024, "front": 8020},
    # `make chaos` (tools/chaos.py).
    "chaos": {"amqp": 5712, "mgmt": 15712, "dist": 25712, "epmd": 4412,
              "mongo": 27147, "intake": 8031, "case_supervision": 8032,
              "notify": 8033, "web": 8034, "front": 8030},
}

# Just above the broker's own floor (it stops publishers at 50 MB free): below
# it the database is next to fail.
LOW_DISK = 64 * 2**20

SERVICES = {
    "intake": "services.intake.service:IntakeService",
    "case_supervision": "services.case_supervision.service:CaseSupervisionService",
    "notify": "services.notify.service:NotifyService",
}
# The people's pages: a service that calls the three APIs over HTTP like any
# client (the chaos and bench runs leave it out: they drive the APIs).
WEB = {"web": "services.web.service:WebService"}
PROCESSES = {**SERVICES, **WEB}
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


RABBIT_API_USER = ("guest", "guest")   # RabbitMQ's default, loopback only


def rabbit_api_uri(mgmt_port):
    """The broker's management API, as that user."""
    return "http://{}:{}@127.0.0.1:{}".format(*RABBIT_API_USER, mgmt_port)


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout}s")


def port_open(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except Exception:
        return False


def _terminate(proc, grace=15):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


class Stack:
    """Broker, database and services of one profile; each part start/stoppable."""

    def __init__(self, profile="run", env=None):
        self.env = dict(os.environ if env is None else env)
        # FASTTRACK_PORT_OFFSET lets several test stacks share one machine.
        offset = int(self.env.get("FASTTRACK_PORT_OFFSET") or 0)
        self.profile = profile if not offset else f"{profile}{offset}"
        self.ports = {k: v + offset for k, v in PORTS[profile].items()}
        self.var = os.path.join(ROOT, "var", self.profile)
        self.logs = os.path.join(self.var, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.own_broker = not self.env.get("AMQP_URI")
        self.own_db = not self.env.get("MONGO_URI")
        if self.own_broker:
            self.env["AMQP_URI"] = f"amqp://guest:guest@127.0.0.1:{self.ports['amqp']}/"
        if self.own_db:
            self.env["MONGO_URI"] = (f"mongodb://127.0.0.1:{self.ports['mongo']}/"
                                     "?retryWrites=false")
        self.db_proc = None
        self.broker_proc = None
        self.services = {}
        self.front_proc = None

    # -- broker ---------------------------------------------------------
    def _rabbit_env(self):
        base = os.path.join(self.var, "rabbitmq")
        os.makedirs(base, exist_ok=True)
        conf = os.path.join(base, "rabbitmq.conf")
        with open(conf, "w") as f:
            f.write(f"listeners.tcp.default = 127.0.0.1:{self.ports['amqp']}\n"
                    f"management.tcp.port = {self.ports['mgmt']}\n"
                    "management.tcp.ip = 127.0.0.1\n")
        with open(os.path.join(base, "enabled_plugins"), "w") as f:
            f.write("[rabbitmq_management].\n")
        open(os.path.join(base, "rabbitmq-env.conf"), "a").close()
        env = dict(self.env)
        env.update({
            "HOME": base,  # the node's own .erlang.cookie
            "RABBITMQ_NODENAME": f"fasttrack-{self.profile}@localhost",
            "RABBITMQ_DIST_PORT": str(self.ports["dist"]),
            "ERL_EPMD_PORT": str(self.ports["epmd"]),
            "RABBITMQ_MNESIA_BASE": os.path.join(base, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(base, "log"),
            "RABBITMQ_CONFIG_FILE": conf,
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(base, "enabled_plugins"),
            "RABBITMQ_PID_FILE": os.path.join(base, "pid"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(base, "rabbitmq-env.conf"),
        })
        return env

    def _rabbitmqctl(self, *args, timeout=90):
        return subprocess.run([f"{RABBIT_BIN}/rabbitmqctl", *args],
                              env=self._rabbit_env(), capture_output=True,
                              text=True, timeout=timeout)

    def start_broker(self):
        if not self.own_broker:
            return
        if not os.path.exists(f"{RABBIT_BIN}/rabbitmq-server"):
            raise RuntimeError("rabbitmq-server is not installed: run `make deps`")
        env = self._rabbit_env()
        if port_open(self.ports["amqp"]):
            # A node of ours left over from a killed run: stop it first.
            if self._rabbitmqctl("stop", timeout=60).returncode != 0:
                raise RuntimeError(f"port {self.ports['amqp']} is taken by a broker that is "
                                   "not this stack's node; set AMQP_URI to use it")
            wait_for(lambda: not port_open(self.ports["amqp"]), 60, "old broker stop")
        # A node of ours that is still going down holds its distribution port.
        wait_for(lambda: not port_open(self.ports["dist"]), 60,
                 "the previous node releasing its ports")
        log = open(os.path.join(self.logs, "rabbitmq.log"), "ab")
        proc = self.broker_proc = subprocess.Popen(
            [f"{RABBIT_BIN}/rabbitmq-server"], env=env, cwd=os.path.dirname(
                env["RABBITMQ_PID_FILE"]), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

        def up():
            if proc.poll() is not None:
                raise RuntimeError(f"RabbitMQ exited with {proc.returncode}; "
                                   f"see {self.logs}/rabbitmq.log")
            # The listeners open last, the management one after AMQP.
            return port_open(self.ports["amqp"]) and port_open(self.ports["mgmt"])
        wait_for(up, 120, "RabbitMQ")

    def stop_broker(self):
        if not self.own_broker or self.broker_proc is None:
            return
        self._rabbitmqctl("stop", timeout=60)
        _terminate(self.broker_proc, grace=30)
        self.broker_proc = None

    # -- database -------------------------------------------------------
    def db_command(self):
        data = os.path.join(self.var, "db")
        os.makedirs(data, exist_ok=True)
        port = str(self.ports["mongo"])
        mongod = shutil.which("mongod")
        if mongod:
            return [mongod, "--bind_ip", "127.0.0.1", "--port", port,
                    "--dbpath", data]
        # SecantusDB: sync-on-commit, or a kill -9 loses confirmed writes.
        secantus = os.path.join(os.path.dirname(sys.executable), "secantusd-py")
        return [secantus, "--host", "127.0.0.1", "--port", port,
                "--storage-path", data, "--sync-on-commit",
                "--log-level", "WARNING"]

    def start_db(self):
        if not self.own_db:
            return
        if port_open(self.ports["mongo"]):
            raise RuntimeError(f"port {self.ports['mongo']} is taken: "
                               "is another FastTrack stack running?")
        log = open(os.path.join(self.logs, "db.log"), "ab")
        self.db_proc = subprocess.Popen(self.db_command(), stdout=log,
                                        stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_for(lambda: port_open(self.ports["mongo"]), 60, "database")

    def stop_db(self, kill=False):
        if not self.own_db or self.db_proc is None:
            return
        if kill:
            os.killpg(self.db_proc.pid, signal.SIGKILL)
            self.db_proc.wait()
        else:
            _terminate(self.db_proc)
        self.db_proc = None

    # -- services -------------------------------------------------------
    def service_url(self, name):
        return f"http://127.0.0.1:{self.ports[name]}"

    def start_service(self, name, extra_env=None, wait=True):
        env = dict(self.env)
        env["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{self.ports[name]}"
        # case_supervision and notify verify tokens with intake's public keys.
        env.setdefault("FASTTRACK_JWKS_URL",
                       self.service_url("intake") + "/.well-known/jwks.json")
        # The web app reaches the APIs at their own addresses, server-side.
        for api, var in (("intake", "INTAKE"), ("case_supervision", "CASES"),
                         ("notify", "NOTIFY")):
            env.setdefault(f"FASTTRACK_{var}_URL", self.service_url(api))
        env.update(extra_env or {})
        log = open(os.path.join(self.logs, f"{name}.log"), "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.serve", "run", "--config",
             os.path.join(ROOT, "config.yml"),
             PROCESSES[name]],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.services[name] = proc
        if wait:
            self.wait_healthy(name)
        return proc

    def wait_healthy(self, name, timeout=60):
        url = self.service_url(name) + "/health"
        proc = self.services[name]

        def up():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; "
                                   f"see {self.logs}/{name}.log")
            return http_ok(url)
        wait_for(up, timeout, name)

    def kill_service(self, name, sig=signal.SIGKILL):
        proc = self.services.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(30)

    def stop_service(self, name):
        _terminate(self.services.pop(name, None))

    # -- the front door (nginx) -------------------------------------------
    def front_url(self):
        return f"http://127.0.0.1:{self.ports['front']}"

    def start_frontdoor(self):
        """Debian's nginx as a process of ours: its config, pid, logs and
        temp files under var/<profile>/nginx/, listening on loopback only,
        workers as the user who started it; no system nginx service."""
        from tools import frontdoor
        if not os.path.exists(NGINX):
            raise RuntimeError("nginx is not installed: run `make deps`")
        base = os.path.join(self.var, "nginx")
        temp = os.path.join(base, "temp")
        os.makedirs(temp, exist_ok=True)
        if port_open(self.ports["front"]):
            raise RuntimeError(f"port {self.ports['front']} is taken: "
                               "is another FastTrack stack running?")
        user = None
        if os.geteuid() == 0:
            # As root, nginx would hand its workers to `nobody`, who cannot
            # write our temp folders: keep them the starting user's.
            import grp
            import pwd
            user = (f"{pwd.getpwuid(os.geteuid()).pw_name} "
                    f"{grp.getgrgid(os.getegid()).gr_name}")
        conf = os.path.join(base, "nginx.conf")
        with open(conf, "w") as f:
            f.write(frontdoor.render(
                f"127.0.0.1:{self.ports['front']}",
                {name: [f"127.0.0.1:{self.ports[name]}"]
                 for name in ("web", "intake", "case_supervision", "notify")},
                {"pid": os.path.join(base, "nginx.pid"),
                 "error_log": os.path.join(self.logs, "nginx-error.log"),
                 "access_log": os.path.join(self.logs, "nginx-access.log"),
                 "temp": temp, "mime": "/etc/nginx/mime.types",
                 "docs": os.path.join(ROOT, "docs", "api")}, user))
        check = subprocess.run([NGINX, "-t", "-q", "-p", base, "-c", conf,
                                "-e", os.path.join(self.logs, "nginx-error.log")],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused {conf}: {check.stderr.strip()}")
        log = open(os.path.join(self.logs, "nginx.log"), "ab")
        proc = self.front_proc = subprocess.Popen(
            [NGINX, "-p", base, "-c", conf, "-e", os.path.join(self.logs, "nginx-error.log"),
             "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

        def up():
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode}; "
                                   f"see {self.logs}/nginx-error.log")
            return port_open(self.ports["front"])
        wait_for(up, 30, "nginx")
        return proc

    def stop_frontdoor(self):
        _terminate(self.front_proc)
        self.front_proc = None

    # -- health -----------------------------------------------------------
    def health_problem(self):
        """Why this stack's own broker or database cannot serve, or None.

        A broker whose disk or memory alarm is raised still accepts
        connections but blocks every publisher: services start, then every
        event waits for ever. The tests ask this before each test so that a
        machine out of disk fails the run at once, saying so, instead of
        failing every later test by timeout."""
        free = shutil.disk_usage(self.var).free
        if free < LOW_DISK:
            return (f"only {free // 2**20} MB free on the disk that holds {self.var} "
                    f"(the broker blocks publishers below 50 MB)")
        if self.own_db and self.db_proc is not None and self.db_proc.poll() is not None:
            return (f"the database exited with {self.db_proc.returncode}; "
                    f"see {self.logs}/db.log")
        if not self.own_broker or self.broker_proc is None:
            return None
        if self.broker_proc.poll() is not None:
            return (f"RabbitMQ exited with {self.broker_proc.returncode}; "
                    f"see {self.logs}/rabbitmq.log")
        try:
            with urllib.request.urlopen(self._rabbit_api("/api/nodes"), timeout=10) as resp:
                nodes = json.load(resp)
        except OSError as exc:
            return f"RabbitMQ's management API does not answer: {exc}"
        for node in nodes:
            alarms = [a for a in ("disk_free_alarm", "mem_alarm") if node.get(a)]
            if alarms:
                return (f"RabbitMQ raised {', '.join(alarms)} and blocks publishers "
                        f"(disk free {node.get('disk_free', 0) // 2**20} MB, memory used "
                        f"{node.get('mem_used', 0) // 2**20} of "
                        f"{node.get('mem_limit', 0) // 2**20} MB)")
        return None

    def _rabbit_api(self, path):
        request = urllib.request.Request(f"http://127.0.0.1:{self.ports['mgmt']}{path}")
        credentials = ":".join(RABBIT_API_USER).encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
        return request

    # -- all ------------------------------------------------------------
    def start_infra(self):
        self.start_broker()
        self.start_db()

    def stop_all(self):
        self.stop_frontdoor()
        for name in list(self.services):
            self.stop_service(name)
        self.stop_db()
        self.stop_broker()
