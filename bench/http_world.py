"""The HTTP bench's world: citizens with bearer tokens, PINs and vouchers, merchants with QR codes.

They are made through the services beforehand (not timed). Passwords are hashed with a cheap
argon2 setting during that set-up only: the server never checks a password here (the tokens
are issued already), and thousands of default argon2 hashes would take minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from rich.console import Console
from sqlalchemy import Engine

from bench.report import progress_bar
from bench.world import business_number
from dongne.adapters.secrets import Secrets
from dongne.domain.access import UserKind
from dongne.domain.program import VoucherProgram
from dongne.services import accounts, authentication, counter_payments, registry
from dongne.services.purchases import purchase_vouchers
from dongne.services.unit_of_work import UnitOfWork

PAYMENT_WON = 1_000
PROGRAM = VoucherProgram(brand_name="벤치")
FILL_WON = PROGRAM.monthly_purchase_limit_won
"""Each citizen buys as much as a month allows (700,000 won): 700 payments of 1,000. With
100,000 won each (100 payments), a machine that paid 950/s spent the 600 citizens' 60,000
payments before the open loop's end, which then counted refusals (422) for lack of balance."""
MERCHANTS = 32
PIN = "482916"
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account in a scratch database
HMAC_KEY = "bench-only-hmac-key"


@dataclass(frozen=True)
class World:
    tokens: tuple[str, ...]
    payloads: tuple[str, ...]


def bench_secrets() -> Secrets:
    """The server's HMAC keys, with a cheap argon2 for the set-up's passwords (see above)."""
    secrets = Secrets(pin_key=HMAC_KEY.encode(), identity_key=HMAC_KEY.encode())
    return replace(secrets, passwords=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def seed(engine: Engine, citizens: int, now: datetime, console: Console) -> World:
    uow = UnitOfWork(engine)
    secrets = bench_secrets()
    region_id = registry.create_region(uow, code="bench-http", name="벤치시", now=now)
    registry.create_program(uow, region_id=region_id, program=PROGRAM, now=now)
    registry.fund_discount_budget(
        uow, region_id=region_id, amount_won=10**12, idempotency_key="bench-http-fund", now=now
    )
    lifetime = timedelta(hours=6)
    payloads = []
    tokens = []
    with progress_bar(console) as progress:
        task = progress.add_task("merchants and their QR codes", total=MERCHANTS)
        for serial in range(1, MERCHANTS + 1):
            merchant_id = registry.register_merchant(
                uow,
                region_id=region_id,
                name=f"가게{serial}",
                business_number=business_number(700_000 + serial),
                category="bakery",
                annual_revenue_won=100_000_000,
                now=now,
            )
            accounts.create_staff_user(
                uow,
                secrets,
                kind=UserKind.MERCHANT,
                login=f"bench-owner-{serial}",
                password=PASSWORD,
                role="owner",
                region_id=None,
                merchant_id=merchant_id,
                now=now,
            )
            owner = authentication.log_in(
                uow,
                secrets,
                login=f"bench-owner-{serial}",
                password=PASSWORD,
                totp_code=None,
                lifetime=lifetime,
                now=now,
            )
            payloads.append(
                counter_payments.merchant_qr_payload(
                    UnitOfWork(engine, read_only=True),
                    caller=owner.principal,
                    merchant_id=merchant_id,
                )
            )
            progress.advance(task)
        task = progress.add_task(
            f"citizens: sign-up, PIN, log-in, {FILL_WON:,} won of vouchers", total=citizens
        )
        for serial in range(1, citizens + 1):
            phone = f"0107{serial:07d}"
            signed = accounts.sign_up_citizen(
                uow,
                secrets,
                phone=phone,
                password=PASSWORD,
                name=f"시민{serial}",
                region_id=region_id,
                identity_number=None,
                idempotency_key=f"bench-http-citizen-{serial}",
                now=now,
            )
            accounts.set_pin(uow, secrets, user_id=signed.user_id, password=PASSWORD, pin=PIN)
            session = authentication.log_in(
                uow,
                secrets,
                login=phone,
                password=PASSWORD,
                totp_code=None,
                lifetime=lifetime,
                now=now,
            )
            purchase_vouchers(
                uow,
                wallet_id=signed.wallet_id,
                face_won=FILL_WON,
                idempotency_key=f"bench-http-fill-{serial}",
                now=now,
            )
            tokens.append(session.token)
            progress.advance(task)
    return World(tuple(tokens), tuple(payloads))
