"""A client for the endpoint's admin API, for the bench run and the interactive session.

`put_settings` replaces the endpoint's settings (a key left out takes its
default), `patch_settings` merges into them (JSON merge patch), `reset` goes
back to the configured settings; `on_change`, when given, hears the settings
in force after each of the three (the bench dates its live breaks by it).
`ledger` asks which messages the endpoint's ledger holds, in as many calls as
the endpoint's body limit needs.

Every failure — the endpoint unreachable, an answer that is not 2xx, a body
that is not JSON — is an `AdminError` with a message a person can act on; a
rejected settings document carries the endpoint's reason (naming the key).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

ADMIN_PATH = "/__sinkbench/"
# A ledger question is cut into calls of at most this many runs plus identities: about 40 bytes each,
# well under the admin API's 1 MiB body limit.
LEDGER_CHUNK = 16_000

# (stream, topic, partition, [(first, end), ...]): messages at those Iggy addresses, offsets as half-open runs.
AddressRuns = tuple[str, str, int, Sequence[tuple[int, int]]]


@dataclass(frozen=True)
class LedgerAnswer:
    held: int                   # messages at the addresses asked about that the endpoint accepted
    accepted: list[int]         # per identity asked about, how often it was accepted
    address_duplicates: int     # acceptances of addressed messages that repeated one (all of the ledger)


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
                 transport: httpx.AsyncBaseTransport | None = None,
                 on_change: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.admin_url = _admin_base(base_url)
        self.on_change = on_change
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
        """Replace the endpoint's settings (keys left out take their defaults); returns the settings now in force."""
        return self._changed(await self._call("PUT", "endpoint", json=settings))

    async def patch_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge `patch` into the endpoint's settings (RFC 7396: null removes a key); returns the settings now in force."""
        return self._changed(await self._call("PATCH", "endpoint", json=patch))

    async def reset(self) -> None:
        """Back to the configured settings; journal, counters and ledger cleared."""
        await self._call("POST", "reset")
        if self.on_change is not None:
            self._changed(await self.get_settings())

    def _changed(self, settings: dict[str, Any]) -> dict[str, Any]:
        if self.on_change is not None:
            self.on_change(settings)
        return settings

    async def ledger(self, addresses: Sequence[AddressRuns] = (), identities: Sequence[int] = ()) -> LedgerAnswer:
        """Which of these messages the endpoint accepted: see `LedgerAnswer`."""
        held, accepted, duplicates = 0, [], 0
        for doc in _ledger_questions(addresses, identities):
            # The standard encoder: identities of addressed bare payloads go past orjson's 64 bits.
            data = await self._call("POST", "ledger", content=json.dumps(doc).encode(),
                                    headers={"Content-Type": "application/json"})
            try:
                held += int(data["held"])
                accepted.extend(int(n) for n in data["accepted"])
                duplicates = int(data["address_duplicates"])
            except (KeyError, TypeError, ValueError):
                raise AdminError(f"POST {self.admin_url}ledger: unexpected answer") from None
        if len(accepted) != len(identities):
            raise AdminError(f"POST {self.admin_url}ledger: {len(accepted)} answers for {len(identities)} identities")
        return LedgerAnswer(held, accepted, duplicates)


def _ledger_questions(addresses: Sequence[AddressRuns], identities: Sequence[int]) -> list[dict[str, Any]]:
    """The question cut into documents of at most LEDGER_CHUNK runs and identities (at least one document)."""
    docs: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    size = 0

    def flush() -> None:
        nonlocal entries, size
        if entries:
            docs.append({"addresses": entries})
        entries, size = [], 0

    for stream, topic, partition, runs in addresses:
        runs = list(runs)
        while runs:
            take = runs[:LEDGER_CHUNK - size]
            runs = runs[len(take):]
            entries.append({"stream": stream, "topic": topic, "partition": partition,
                            "offsets": [[a, b] for a, b in take]})
            size += len(take)
            if size >= LEDGER_CHUNK:
                flush()
    flush()
    ids = list(identities)
    for i in range(0, len(ids), LEDGER_CHUNK):
        docs.append({"identities": ids[i:i + LEDGER_CHUNK]})
    return docs or [{}]
