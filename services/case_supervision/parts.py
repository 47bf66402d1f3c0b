"""What the parts of the case service (routes.py, ledger.py, sweep.py) use
of the service they are assembled into (service.py): its dependencies and
its write path. Declarations for the type checker only; the service class
provides each of them."""
from typing import Any, Callable

from services.case_supervision.repository import Repository
from shared.outbox import Relay


class CaseServiceParts:
    name: str
    repo: Repository
    relay: Relay
    inbox: Any                       # shared.inbox.Inbox in a worker
    policy: dict[str, Any]
    intake: Any                      # the bounded RPC proxy to intake
    store: Callable[..., bool]
    change: Callable[..., Any]
    record_fact: Callable[[dict], bool | None]
    learn_unit_path: Callable[[dict], None]
    path_of: Callable[[str, dict], list[str]]
