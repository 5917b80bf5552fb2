"""Talking to a witness over HTTP (C2SP tlog-witness ``POST <prefix>/add-checkpoint``)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from dongne.domain.errors import InvalidInput
from dongne.tlog.cosignature import CosignatureVerifier

WITNESS_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class WitnessAnswer:
    status: int
    body: bytes


@dataclass(frozen=True)
class HttpWitness:
    url: str
    verifier: CosignatureVerifier
    timeout_seconds: float = WITNESS_TIMEOUT_SECONDS

    @classmethod
    def from_setting(cls, setting: str) -> HttpWitness:
        """Read ``'<url> <verifier key>'``, as DONGNE_LOG_WITNESSES lists them."""
        url, _, key = setting.strip().partition(" ")
        if not url.startswith(("http://", "https://")) or not key.strip():
            raise InvalidInput(f"a witness is '<http(s) url> <verifier key>', not {setting!r}")
        return cls(url.rstrip("/"), CosignatureVerifier.from_key(key.strip()))

    def add_checkpoint(self, request_body: bytes) -> WitnessAnswer:
        try:
            response = httpx.post(
                f"{self.url}/add-checkpoint", content=request_body, timeout=self.timeout_seconds
            )
        except httpx.HTTPError as error:
            raise OSError(f"{self.url}: {error}") from error
        return WitnessAnswer(response.status_code, response.content)
