"""Where a partner's webhooks may go: a public http(s) address, never the platform's own network.

A webhook URL is chosen by a partner, and dongne POSTs to it from inside its network: pointed at
``127.0.0.1``, ``10.0.0.5`` or the cloud's ``169.254.169.254``, it would make dongne a proxy into
places no partner should reach (server-side request forgery). So in production a webhook goes
only to globally routable unicast addresses. The check runs twice: when the partner registers
(if the host is an IP literal, or a ``localhost`` name), and when each event is sent, on every
address the host's name resolves to then, since DNS can change after registration.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from dongne.domain.errors import InvalidInput, WebhookUrlNotAllowed

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def forbidden_reason(address: IpAddress) -> str | None:
    """Why a webhook may not be sent to ``address``, or None if it is a public unicast one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return forbidden_reason(address.ipv4_mapped)
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for refused, reason in checks if refused), None)


def webhook_host(url: str) -> str:
    """The host of an http(s) URL (without brackets); ``InvalidInput`` for anything else."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        raise InvalidInput("a webhook URL is a valid http(s) URL", field="webhook_url") from error
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput("a webhook URL is http(s) with a host", field="webhook_url")
    return parts.hostname


def check_webhook_url(url: str, *, allow_private_addresses: bool) -> None:
    """At registration: refuse a URL whose host is, on its face, not a public address. A name
    is checked again when each event is sent, once it is resolved."""
    host = webhook_host(url)
    if allow_private_addresses:
        return
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        raise WebhookUrlNotAllowed(
            "a webhook URL may not point at this machine", field="webhook_url", reason="loopback"
        )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: resolved and checked at delivery
    reason = forbidden_reason(address)
    if reason is not None:
        raise WebhookUrlNotAllowed(
            f"a webhook URL may not point at a {reason} address",
            field="webhook_url",
            reason=reason,
        )
