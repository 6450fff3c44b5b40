"""A client for the endpoint's admin API, for the bench run and the interactive session.

Every failure — the endpoint unreachable, an answer that is not 2xx, a body
that is not JSON — is an `AdminError` with a message a person can act on; a
rejected settings document carries the endpoint's reason (naming the key).
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

ADMIN_PATH = "/__sinkbench/"


class AdminError(Exception):
    """An admin call failed. `status` is the HTTP status when there was an answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _admin_base(url: str) -> str:
    base = url.split("?", 1)[0].rstrip("/")
    if base.endswith(ADMIN_PATH.rstrip("/")):
        base = base[: -len(ADMIN_PATH.rstrip("/"))]
    return base + ADMIN_PATH


def _verify(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    if isinstance(verify, str):  # a CA file, e.g. the endpoint's ca_pem_path
        return ssl.create_default_context(cafile=verify)
    return verify


class AdminClient:
    """`AdminClient(endpoint.url)` or `AdminClient(endpoint.admin_url)`; `verify` may be a CA file path."""

    def __init__(self, base_url: str, verify: bool | str | ssl.SSLContext = True, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.admin_url = _admin_base(base_url)
        self._client = httpx.AsyncClient(base_url=self.admin_url, verify=_verify(verify), timeout=timeout,
                                         transport=transport, trust_env=False)

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, name: str, **kwargs: Any) -> Any:
        try:
            resp = await self._client.request(method, name, **kwargs)
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise AdminError(f"mock endpoint admin API unreachable at {self.admin_url}{name}: {reason}") from None
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.status_code >= 300:
            reason = data.get("error") if isinstance(data, dict) and "error" in data else resp.text.strip()
            raise AdminError(f"{method} {self.admin_url}{name}: {resp.status_code}: {reason}", resp.status_code)
        if data is None:
            raise AdminError(f"{method} {self.admin_url}{name}: answer is not JSON", resp.status_code)
        return data

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "health")

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "stats")

    async def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        params = {"limit": str(limit)} if limit is not None else None
        return await self._call("GET", "requests", params=params)

    async def get_settings(self) -> dict[str, Any]:
        return await self._call("GET", "endpoint")

    async def put_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Replace the endpoint's settings; returns them as the endpoint now holds them."""
        return await self._call("PUT", "endpoint", json=settings)

    async def reset(self) -> None:
        await self._call("POST", "reset")
