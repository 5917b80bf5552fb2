"""Sending one webhook over HTTP: a signed POST with a short timeout, no redirects."""

from __future__ import annotations

import httpx

from dongne.domain.webhook_signature import SIGNATURE_HEADER

TIMEOUT_SECONDS = 5.0
"""A receiver should answer at once and do its work later; a slow one is retried."""


class HttpWebhookSender:
    def __init__(self, *, timeout_seconds: float = TIMEOUT_SECONDS):
        # Redirects are not followed: a signed body goes only to the URL the partner registered.
        self.client = httpx.Client(timeout=timeout_seconds, follow_redirects=False)

    def send(self, url: str, body: bytes, signature: str) -> str | None:
        try:
            response = self.client.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "dongne-webhooks/1",
                    SIGNATURE_HEADER: signature,
                },
            )
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"

    def close(self) -> None:
        self.client.close()
