"""The front door's routing (API.md "Front door"), for an HTTP client in
tests until nginx stands in front of the stack: `/api/intake/…`,
`/api/cases/…`, `/api/notify/…` go to each service with the prefix taken
off. It only moves a request; the services answer it, over the network."""
import httpx

from shared.openapi import PREFIXES


class FrontDoor(httpx.BaseTransport):
    def __init__(self, service_urls):
        """`service_urls`: {service name: its base URL}."""
        self.routes = {PREFIXES[name]: url.rstrip("/") for name, url in service_urls.items()}
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request):
        path = request.url.raw_path.decode()
        for prefix, base in self.routes.items():
            if path.startswith(prefix + "/"):
                target = httpx.URL(base + path[len(prefix):])
                request.url = target
                request.headers["Host"] = target.netloc.decode()
                return self.inner.handle_request(request)
        return httpx.Response(404, json={"detail": f"no service under {path}"})

    def close(self):
        self.inner.close()
