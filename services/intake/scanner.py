"""The virus-scanning hook: every stored file passes `scan` before anyone
can list or download it.

With CLAMD configured (FASTTRACK_CLAMD: `unix:/run/clamav/clamd.ctl` or
`host:port`) the file is streamed to clamd with its INSTREAM command. With
none, the file is recorded "not_scanned" — said as it is, never as clean.
A scanner that does not answer leaves the file "scan_failed": kept, and
visible with that state, so a person decides; an infected file is kept as
evidence but never served.
"""
import socket
import struct
from dataclasses import dataclass
from typing import Iterable, Protocol

NOT_SCANNED = "not_scanned"
CLEAN = "clean"
INFECTED = "infected"
FAILED = "scan_failed"
TIMEOUT = 60
MAX_REPLY = 4096


@dataclass(frozen=True)
class Verdict:
    state: str                  # one of the four above
    engine: str | None = None
    detail: str | None = None   # the signature found, or why the scan failed


class Scanner(Protocol):
    def scan(self, chunks: Iterable[bytes]) -> Verdict: ...


class NoScanner:
    """No scanner is configured on this machine."""

    def scan(self, chunks):
        return Verdict(NOT_SCANNED)


class Clamd:
    """clamd's INSTREAM: length-prefixed chunks, a zero length ends it; the
    answer is `stream: OK` or `stream: <signature> FOUND`."""

    def __init__(self, address):
        self.address = address

    def _connect(self):
        if self.address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(TIMEOUT)
            sock.connect(self.address[len("unix:"):])
        else:
            host, _, port = self.address.rpartition(":")
            sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        return sock

    def scan(self, chunks):
        try:
            with self._connect() as sock:
                sock.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    if chunk:
                        sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                sock.sendall(struct.pack("!L", 0))
                reply = b""
                while not reply.endswith(b"\0") and len(reply) < MAX_REPLY:
                    more = sock.recv(MAX_REPLY)
                    if not more:
                        break
                    reply += more
        except OSError as exc:
            return Verdict(FAILED, "clamd", f"{type(exc).__name__}: {exc}"[:500])
        return verdict(reply.rstrip(b"\0").decode("utf-8", "replace"))


def verdict(reply):
    """clamd's one-line answer as a Verdict."""
    answer = reply.split(":", 1)[-1].strip()
    if answer == "OK":
        return Verdict(CLEAN, "clamd")
    if answer.endswith(" FOUND"):
        return Verdict(INFECTED, "clamd", answer[:-len(" FOUND")])
    return Verdict(FAILED, "clamd", answer[:500] or "no answer")


def configured(config) -> Scanner:
    address = config.get("CLAMD")
    return Clamd(address) if address else NoScanner()
