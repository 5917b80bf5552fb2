"""Sending one webhook over HTTP: a signed POST with a short timeout, no redirects.

Unless private addresses are allowed (development, tests), the receiver's name is resolved
here, every address it resolves to must be public (``domain.webhook_urls``), and the request
goes to the address that was checked: the connection is pinned to it, with the name kept in
the ``Host`` header and for TLS (SNI and the certificate check), so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot aim the POST elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpx

from dongne.domain.errors import InvalidInput
from dongne.domain.webhook_signature import SIGNATURE_HEADER
from dongne.domain.webhook_urls import IpAddress, forbidden_reason, webhook_host

TIMEOUT_SECONDS = 5.0
"""A receiver should answer at once and do its work later; a slow one is retried."""

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to now (an IP literal resolves to itself)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class HttpWebhookSender:
    def __init__(
        self,
        *,
        timeout_seconds: float = TIMEOUT_SECONDS,
        allow_private_addresses: bool = False,
        resolver: Resolver = resolve,
    ):
        # Redirects are not followed: a signed body goes only to the URL the partner registered.
        self.client = httpx.Client(timeout=timeout_seconds, follow_redirects=False)
        self.allow_private_addresses = allow_private_addresses
        self.resolver = resolver

    def send(self, url: str, body: bytes, signature: str) -> str | None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "dongne-webhooks/1",
            SIGNATURE_HEADER: signature,
        }
        extensions: dict[str, str] = {}
        if not self.allow_private_addresses:
            pinned = self._pinned(url)
            if isinstance(pinned, str):
                return pinned
            target, host_header, host = pinned
            url, headers["Host"], extensions["sni_hostname"] = str(target), host_header, host
        try:
            response = self.client.post(url, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"

    def _pinned(self, url: str) -> tuple[httpx.URL, str, str] | str:
        """The URL with its host replaced by a checked public address, the Host header and the
        name for TLS; or why it may not be sent."""
        try:
            webhook_host(url)
            parsed = httpx.URL(url)
        except (InvalidInput, httpx.InvalidURL) as error:
            return f"refused: {error}"
        host = parsed.raw_host.decode("ascii")  # an international name in its IDNA form
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses: list[IpAddress] = [
                ipaddress.ip_address(address.split("%", 1)[0])
                for address in self.resolver(host, port)
            ]
        except (OSError, UnicodeError, ValueError) as error:
            return f"cannot resolve {host}: {error}"
        if not addresses:
            return f"cannot resolve {host}"
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is not None:
                return f"refused: {host} resolves to {address}, a {reason} address"
        host_header = parsed.netloc.decode("ascii")  # with the port, unless the default
        return parsed.copy_with(host=str(addresses[0])), host_header, host

    def close(self) -> None:
        self.client.close()
