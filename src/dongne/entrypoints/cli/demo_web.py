"""The demo's web act: people to log in as, and data on every page of the web app.

The month (``demo``) already fills the ledger. This adds what the pages need beyond it: one
citizen who can log in (who bought, paid, received the youth allowance and walked during the
month), the bakery's owner at the counter, the official's TOTP, the merchants' places on the
directory's map, two applications waiting for an official, and a partner's payment waiting
for the citizen's approval. It ends by printing how to serve the demo database and one login
per role, so a reader can open every page.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from rich.console import Console

from dongne.bootstrap import App
from dongne.domain.access import PartnerScope, Principal, UserKind
from dongne.domain.calendar import SEOUL
from dongne.domain.merchants import business_number_check_digit
from dongne.domain.places import coordinates
from dongne.entrypoints.cli.demo_programs import OFFICIAL_LOGIN, OFFICIAL_PASSWORD, Tally, key
from dongne.entrypoints.cli.demo_vouchers import story_purchase
from dongne.services import (
    accounts,
    merchant_applications,
    merchant_locations,
    payment_intent_approval,
    payments,
)

DEMO_PASSWORD = OFFICIAL_PASSWORD
"""Every demo account's password (the demo database's throwaway accounts)."""
CITIZEN_PHONE = "010-1234-5678"
CITIZEN_PIN = "135790"
MERCHANT_LOGIN = "demo-bakery"
SERVE_ADDRESS = "http://127.0.0.1:8000"
"""Where ``dongne serve`` listens by default."""
INTENT_WON = 18_000
INTENT_APPROVAL_MINUTES = 7 * 24 * 60
"""A week, so the printed approval page still opens after a long read of the output."""

PLACES = [
    (37.3799, 126.8031),  # 동네빵집, by the city hall
    (37.3812, 126.8050),  # 시루커피
    (37.3905, 126.7390),  # 월곶횟집, Wolgot harbour
    (37.3455, 126.7390),  # 정왕국수
    (37.4360, 126.7900),  # 은행동김밥
    (37.4470, 126.7930),  # 대야동정육점
    (37.4400, 126.7840),  # 삼미시장 채소가게
    (37.3750, 126.8330),  # 물왕약국
    (37.3720, 126.7330),  # 배곧서점
    (37.3745, 126.8045),  # 능곡미용실
    (37.4380, 126.7810),  # 신천철물
    (37.3930, 126.8580),  # 목감수학학원
    (37.3700, 126.7920),  # 장곡의원
    (37.3950, 126.7860),  # 하중동반찬가게
    (37.4450, 126.8230),  # 과림동편의점
    (37.3380, 126.7580),  # 거모동옷가게
    (37.4010, 126.7640),  # 포동카페
    (37.4290, 126.8000),  # 매화동떡집
]
"""Where the first 18 merchants are (demo.MERCHANTS' order); the two marts have no place,
so the directory shows a list longer than its map."""
WAITING_APPLICATIONS = [("은계동분식", "restaurant"), ("배곧동제과", "bakery")]
CITIZEN_PAYMENTS = {2: 4_500, 6: 8_000, 13: 4_500, 21: 12_000}
"""Days of the month the demo citizen pays at the café, and how much."""
TODAY_AT_THE_BAKERY = (5_500, 12_000)
"""What the demo citizen paid at the bakery minutes before the demo ended: the counter's
list of today."""


@dataclass(frozen=True)
class DemoLogins:
    """What the demo prints for each role."""

    region_code: str
    official_totp_secret: str
    approval_path: str
    located: int
    waiting_applications: int


def sign_up_citizen(app: App, region_id: int, identity_number: str, now: datetime) -> int:
    """The citizen a reader logs in as: a resident with a password and a payment PIN, whose
    identity number is on the youth allowance's list. Returns their wallet."""
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=CITIZEN_PHONE,
        password=DEMO_PASSWORD,
        name="김시루",
        region_id=region_id,
        identity_number=identity_number,
        idempotency_key=key(),
        now=now,
    )
    accounts.set_pin(
        app.uow, app.secrets, user_id=signed_up.user_id, password=DEMO_PASSWORD, pin=CITIZEN_PIN
    )
    return signed_up.wallet_id


def citizen_day(
    app: App, wallet_id: int, cafe_id: int, day: int, now: datetime, tally: Tally
) -> None:
    """The demo citizen's month: 100,000 bought on the first day, coffee now and then."""
    if day == 0:
        story_purchase(app.uow, tally, wallet_id, 100_000, now)
    amount = CITIZEN_PAYMENTS.get(day)
    if amount:
        payments.pay_merchant(
            app.uow,
            wallet_id=wallet_id,
            merchant_id=cafe_id,
            amount_won=amount,
            idempotency_key=key(),
            now=now,
        )
        tally.paid(amount)


def prepare_pages(
    app: App,
    official: Principal,
    *,
    region_id: int,
    merchant_ids: list[int],
    citizen_wallet_id: int,
    official_totp_secret: str,
    now: datetime,
    tally: Tally,
) -> DemoLogins:
    """Everything the pages show beyond the month's ledger; ``now`` is the real time, so the
    counter has payments of today and the partner's payment still waits when the reader
    opens it."""
    for merchant_id, (latitude, longitude) in zip(merchant_ids, PLACES, strict=False):
        merchant_locations.place_merchant(
            app.uow, official, merchant_id=merchant_id, location=coordinates(latitude, longitude)
        )
    # Minutes ago, but never before midnight in Seoul: the counter lists the Seoul day's.
    seoul_midnight = datetime.combine(now.astimezone(SEOUL).date(), time(0), tzinfo=SEOUL)
    for minutes_ago, amount in zip((20, 10), TODAY_AT_THE_BAKERY, strict=True):
        payments.pay_merchant(
            app.uow,
            wallet_id=citizen_wallet_id,
            merchant_id=merchant_ids[0],
            amount_won=amount,
            idempotency_key=key(),
            now=max(seoul_midnight, now - timedelta(minutes=minutes_ago)),
        )
        tally.paid(amount)
    accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.MERCHANT,
        login=MERCHANT_LOGIN,
        password=DEMO_PASSWORD,
        role="owner",
        region_id=None,
        merchant_id=merchant_ids[0],
        now=now,
    )
    for serial, (name, category) in enumerate(WAITING_APPLICATIONS):
        head = f"{125_000_000 + serial:09d}"
        merchant_applications.apply_for_merchant(
            app.uow,
            app.secrets,
            region_id=region_id,
            name=name,
            business_number=head + str(business_number_check_digit(head)),
            category=category,
            annual_revenue_won=150_000_000,
            address=f"시흥시 은계중앙로 {serial + 1}",
            phone=None,
            bank_code="088",
            bank_account_number=f"110-222-{300_000 + serial:06d}",
            bank_account_holder=name,
            now=now,
        )
    with app.reader() as reader:
        region_code = reader.records.region(region_id).code
    located = min(len(PLACES), len(merchant_ids))
    tally.story.append(
        (
            "web pages (웹)",
            f"citizen {CITIZEN_PHONE} bought 100,000 and paid"
            f" {sum(CITIZEN_PAYMENTS.values()):,} at the café in {len(CITIZEN_PAYMENTS)} visits,"
            f" and {sum(TODAY_AT_THE_BAKERY):,} at the bakery today (not settled yet);"
            f" {located} of {len(merchant_ids)} merchants on the map;"
            f" {len(WAITING_APPLICATIONS)} applications waiting; a {INTENT_WON:,} partner order"
            " awaits the citizen's approval",
        )
    )
    return DemoLogins(
        region_code=region_code,
        official_totp_secret=official_totp_secret,
        approval_path=_waiting_partner_payment(app, region_id, merchant_ids[3], now),
        located=located,
        waiting_applications=len(WAITING_APPLICATIONS),
    )


def _waiting_partner_payment(app: App, region_id: int, merchant_id: int, now: datetime) -> str:
    """A delivery app's order at the restaurant, waiting for the demo citizen's approval."""
    partner = accounts.create_partner(
        app.uow,
        region_id=region_id,
        name="동네배달",
        scopes=[PartnerScope.PAYMENT_INTENTS.value],
        webhook_url=None,
        now=now,
    )
    intent = payment_intent_approval.create_payment_intent(
        app.uow,
        partner_id=partner.id,
        merchant_id=merchant_id,
        amount_won=INTENT_WON,
        order_reference="demo-order-1",
        return_url="https://delivery.example/orders/demo-order-1",
        idempotency_key=key(),
        now=now,
        approval_minutes=INTENT_APPROVAL_MINUTES,
    )
    return f"/pay/{intent.id}?secret={app.secrets.approval_secret(intent.id)}"


def print_guide(app: App, logins: DemoLogins, console: Console) -> None:
    """How to open the demo in a browser: the serve command, the pages, one login per role.
    Plain lines, never wrapped, so each URL and secret can be copied whole."""
    url = app.engine.url.render_as_string(hide_password=True)
    command = sys.argv[0] if Path(sys.argv[0]).name == "dongne" else "dongne"
    secret = logins.official_totp_secret
    site = SERVE_ADDRESS
    lines = [
        "",
        "[bold]The web app[/]: serve the demo database with",
        f"  DONGNE_DATABASE_URL={url} {command} serve",
        f"then open {site} (in Korean; the English switch is at the top of each page).",
        "",
        f"Citizen (phone)         {site}/wallet",
        f"  log in: phone {CITIZEN_PHONE}, password {DEMO_PASSWORD}; payment PIN {CITIZEN_PIN}",
        f"Merchant (tablet)       {site}/shop",
        f"  log in: user {MERCHANT_LOGIN}, password {DEMO_PASSWORD} (the owner of 동네빵집)",
        f"City console (desktop)  {site}/console",
        f"  log in: user {OFFICIAL_LOGIN}, password {DEMO_PASSWORD}, and the TOTP code that",
        f"  `{command} totp-code {secret}` prints (or add this to an authenticator app:",
        f"  {accounts.totp_provisioning_uri(secret, OFFICIAL_LOGIN)} )",
        f"Public, no log-in       {site}/directory/{logins.region_code}"
        f"  ({logins.located} merchants on the map)",
        f"                        {site}/transparency",
        f"Partner payment         {site}{logins.approval_path}",
        f"  approve as the citizen (phone, password, PIN): a {INTENT_WON:,} won delivery order,"
        " open for 7 days",
    ]
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
