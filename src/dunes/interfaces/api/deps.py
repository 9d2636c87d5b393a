"""What routes depend on: the per-app ``Gateway`` (settings, access, metrics, services)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from dunes.config import Settings
from dunes.services import Services
from dunes.services.metrics import Metrics
from dunes.services.threads import in_thread

P = ParamSpec("P")
T = TypeVar("T")


class Gateway:
    """Resources of one app instance: its settings, services and metrics."""

    def __init__(self, settings: Settings, *, services: Services) -> None:
        self.settings = settings
        self.services = services
        self.metrics = Metrics()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on the compute threads and await its result."""
        return await in_thread(fn, *args, **kwargs)


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


#: The API key in the OpenAPI document; ``dunes.services.guard`` checks it, before any route.
BEARER = HTTPBearer(
    auto_error=False,
    description="API key as a bearer token; required when the server is not on loopback.",
)
