"""Webhook connections that check the address they actually reached.

The SSRF guard checks what a webhook host resolves to before sending; a
name whose DNS answer changes between that check and the connection (DNS
rebinding) would still reach an internal address. So every webhook
connection checks its peer address once connected, before a byte is sent
(before the TLS handshake for https), and refuses what is not public.
"""
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from services.notify.channel_rules import address_problem


class RefusedPeer(NewConnectionError):
    """The host resolved to an address that is not public when connecting;
    `problem` says which (no part of the URL)."""

    def __init__(self, conn, problem):
        super().__init__(conn, f"connected address refused: {problem}")
        self.problem = problem


def _checked(connection_class: Any, allow_private: bool) -> Any:
    class Checked(connection_class):
        def _new_conn(self):
            sock = super()._new_conn()
            problem = address_problem(sock.getpeername()[0], allow_private)
            if problem:
                sock.close()
                raise RefusedPeer(self, problem)
            return sock
    return Checked


def _pool(pool_class, connection_class, allow_private):
    return type(f"Checked{pool_class.__name__}", (pool_class,),
                {"ConnectionCls": _checked(connection_class, allow_private)})


class CheckedAdapter(HTTPAdapter):
    def __init__(self, allow_private):
        self.allow_private = allow_private
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _pool(HTTPConnectionPool, HTTPConnection, self.allow_private),
            "https": _pool(HTTPSConnectionPool, HTTPSConnection, self.allow_private)}


def webhook_session(allow_private):
    """A session for webhooks: direct (no proxy from the environment, whose
    address would be checked instead of the receiver's; CAs are certifi's),
    peer-checked, and keeping no cookies (a cookie one company's receiver set
    must not travel with another company's webhook)."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = CheckedAdapter(allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
