"""RPC with a bound: a question to another service that needs an answer now.

nameko's RpcProxy waits forever for a dead service. Here a call waits at most
RPC_TIMEOUT seconds, and its request expires in the queue after the same
time, so a service that comes back later does not answer questions nobody is
waiting for. A service that is not running, or not answering, is a clear 503.
"""
import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from shared.errors import Unavailable

DEFAULT_TIMEOUT = 5.0


class BoundedRpc(RpcProxy):
    def __init__(self, target_service, timeout=None):
        self.timeout = timeout
        super().__init__(target_service)

    def setup(self):
        self.timeout = float(self.timeout or self.container.config.get("RPC_TIMEOUT")
                             or DEFAULT_TIMEOUT)
        self.options = {"expiration": self.timeout}
        super().setup()

    def get_dependency(self, worker_ctx):
        return Bounded(super().get_dependency(worker_ctx), self.target_service, self.timeout)


class Bounded:
    def __init__(self, proxy, target, timeout):
        self.proxy, self.target, self.timeout = proxy, target, timeout

    def call(self, method, *args, **kwargs):
        try:
            reply = getattr(self.proxy, method).call_async(*args, **kwargs)
        except UnknownService:
            raise Unavailable(f"{self.target} is not running; try again")
        try:
            with eventlet.Timeout(self.timeout):
                return reply.result()
        except eventlet.Timeout:
            raise Unavailable(f"{self.target} did not answer within {self.timeout:g}s; "
                              "try again")
