"""Form tokens: a signed hidden field that ties a submission to a page this server rendered.

The approval form carries no cookie or session (the phone, password and PIN in it are the
credentials), so the token is stateless: ``<issued at>.<nonce>.<HMAC>`` over the intent id,
the time and the nonce, keyed with the PIN key under a label of its own so it can never be
confused with a PIN digest. It expires, so an old page cannot be replayed days later, and the
nonce doubles as the approval's idempotency key: a double tap on one page approves once.

The citizen's pages sign the same token over the browser's id instead (a random HttpOnly
cookie, ``pages.BROWSER_COOKIE``): another site can make the browser send that cookie, but
cannot read a page to learn a token made for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

TOKEN_LIFETIME = timedelta(minutes=30)
"""Long enough to find a phone's PIN, short enough that a leaked page soon stops working."""


@dataclass(frozen=True)
class FormToken:
    value: str
    nonce: str


def _signature(key: bytes, subject: str, issued_at: int, nonce: str) -> str:
    message = f"{subject}:{issued_at}:{nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _approval(intent_id: int) -> str:
    return f"web-approval:{intent_id}"


def _browser(browser_id: str) -> str:
    return f"web-form:{browser_id}"


def issue(key: bytes, intent_id: int, now: datetime) -> FormToken:
    return _issue(key, _approval(intent_id), now)


def verify(key: bytes, intent_id: int, value: str, now: datetime) -> FormToken | None:
    """The token if it was signed for this intent and has not expired, else None."""
    return _verify(key, _approval(intent_id), value, now)


def issue_for_browser(key: bytes, browser_id: str, now: datetime) -> FormToken:
    return _issue(key, _browser(browser_id), now)


def verify_for_browser(key: bytes, browser_id: str, value: str, now: datetime) -> FormToken | None:
    """The token if it was signed for this browser and has not expired, else None."""
    if not browser_id:
        return None
    return _verify(key, _browser(browser_id), value, now)


def _issue(key: bytes, subject: str, now: datetime) -> FormToken:
    issued_at = int(now.timestamp())
    nonce = secrets.token_urlsafe(16)
    return FormToken(f"{issued_at}.{nonce}.{_signature(key, subject, issued_at, nonce)}", nonce)


def _verify(key: bytes, subject: str, value: str, now: datetime) -> FormToken | None:
    issued_text, _, rest = value.partition(".")
    nonce, _, signature = rest.partition(".")
    if not (issued_text.isascii() and issued_text.isdigit() and nonce and signature):
        return None
    issued_at = int(issued_text)
    expected = _signature(key, subject, issued_at, nonce)
    if not hmac.compare_digest(expected, signature):
        return None
    age_seconds = now.timestamp() - issued_at
    if not 0 <= age_seconds <= TOKEN_LIFETIME.total_seconds():
        return None
    return FormToken(value, nonce)


class PageForm(BaseModel):
    """A page's form: it carries its CSRF token. Every field of a form has a default, so a
    missing field is a message beside it on the page rather than a JSON 422."""

    csrf_token: str = ""
