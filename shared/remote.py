"""Where a request comes from: the address sign-in throttling counts and
the audit log records.

The peer's own address, unless the peer is a proxy we trust (config
TRUSTED_PROXIES: addresses or networks, comma-separated, e.g. the nginx
front door's): only then is X-Forwarded-For read, from its right end,
skipping the trusted proxies in the chain. Anyone can send the header, so
from an untrusted peer it would let a client pick the address it is
throttled and audited under.
"""
import ipaddress

MAX_HOPS = 16       # a longer chain is not read further: nobody has that many proxies


def trusted_networks(value):
    """The trusted proxies of a config value ("10.0.0.5, 10.1.0.0/16")."""
    networks = []
    for part in str(value or "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))
    return tuple(networks)


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks):
    return address is not None and any(address in n for n in networks)


def source_address(peer, forwarded_for, networks):
    """The client's address: `peer` (REMOTE_ADDR), or when the peer is a
    trusted proxy the nearest untrusted address of `forwarded_for`."""
    here = _address(peer or "")
    if not _trusted(here, networks) or not forwarded_for:
        return str(here) if here is not None else (peer or "unknown")
    hops = [h for h in forwarded_for.split(",")][-MAX_HOPS:]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break           # a garbled entry: what lies before it is not to be believed
        here = address
        if not _trusted(address, networks):
            break
    return str(here)


def source(request, config):
    """The source address of a werkzeug request under the service's config."""
    networks = trusted_networks(config.get("TRUSTED_PROXIES"))
    return source_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                          networks)
