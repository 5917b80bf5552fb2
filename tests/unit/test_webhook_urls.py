"""Where webhooks may go: public addresses only in production, checked at registration and
again, after resolving the name, when each event is sent."""

from __future__ import annotations

import ipaddress

import pytest

from dongne.adapters.webhook_sender import HttpWebhookSender
from dongne.config import DEVELOPMENT_SECRET, Settings
from dongne.domain.errors import InvalidInput, WebhookUrlNotAllowed
from dongne.domain.webhook_urls import check_webhook_url, forbidden_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.10", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not bound
        ("100.64.0.1", "not globally routable"),
    ],
)
def test_addresses_inside_any_network_are_refused(address: str, reason: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_unicast_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "https://[::1]/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/",
        "http://localhost:9000/",
        "http://api.localhost/",
    ],
)
def test_registration_refuses_a_url_aimed_at_the_platforms_network(url: str) -> None:
    with pytest.raises(WebhookUrlNotAllowed):
        check_webhook_url(url, allow_private_addresses=False)
    check_webhook_url(url, allow_private_addresses=True)  # development


def test_a_public_address_or_a_name_is_accepted_at_registration() -> None:
    check_webhook_url("https://93.184.216.34/hooks", allow_private_addresses=False)
    check_webhook_url("https://shop.example/hooks", allow_private_addresses=False)


@pytest.mark.parametrize("url", ["ftp://shop.example/", "https:///path", "http://x:99999/"])
def test_a_url_that_is_not_http_with_a_host_is_invalid_in_either_mode(url: str) -> None:
    for allowed in (True, False):
        with pytest.raises(InvalidInput):
            check_webhook_url(url, allow_private_addresses=allowed)


def test_private_addresses_are_allowed_by_default_only_outside_production() -> None:
    assert Settings().allow_private_webhook_addresses
    production = Settings(
        environment="production",
        pin_hmac_key="p" * 32,
        identity_hmac_key="i" * 32,
        password_hash_time_cost=3,  # the tests' environment sets a cost production refuses
        password_hash_memory_kib=65_536,
    )
    assert production.pin_hmac_key.get_secret_value() != DEVELOPMENT_SECRET
    assert not production.allow_private_webhook_addresses
    assert not Settings(webhook_allow_private_addresses=False).allow_private_webhook_addresses


def _sender(answers: dict[str, list[str]]) -> HttpWebhookSender:
    return HttpWebhookSender(resolver=lambda host, _port: answers[host])


def test_delivery_refuses_a_name_that_resolves_to_a_private_address() -> None:
    sender = _sender({"hooks.shop.example": ["93.184.216.34", "10.0.0.5"]})
    try:
        error = sender.send("https://hooks.shop.example/in", b"{}", "t=1,v1=00")
    finally:
        sender.close()
    assert error == "refused: hooks.shop.example resolves to 10.0.0.5, a private address"


def test_delivery_connects_to_the_address_it_checked_with_the_name_for_host_and_tls() -> None:
    sender = _sender({"hooks.shop.example": ["93.184.216.34"]})
    try:
        pinned = sender._pinned("https://hooks.shop.example:8443/in?x=1")
    finally:
        sender.close()
    assert not isinstance(pinned, str)
    target, host_header, tls_name = pinned
    assert str(target) == "https://93.184.216.34:8443/in?x=1"
    assert (host_header, tls_name) == ("hooks.shop.example:8443", "hooks.shop.example")
