"""A citizen's cards over HTTP: linked (physical by its number, virtual without), blocked,
reported lost, replaced; each change idempotent; another citizen's card reads as missing; a
PAN never comes back, and a bad one is refused."""

from __future__ import annotations

import httpx

from tests.e2e import test_api_payment_channels
from tests.e2e.test_api_payment_channels import Citizen, Setting, assert_problem
from tests.factories import unique_key

setting = test_api_payment_channels.setting


def post(
    setting: Setting, citizen: Citizen, url: str, body: object, key: str | None = None
) -> httpx.Response:
    return setting.client.post(
        url, json=body, headers={**citizen.auth, "Idempotency-Key": key or unique_key()}
    )


def test_a_citizen_links_blocks_loses_and_replaces_a_card(setting: Setting) -> None:
    citizen = setting.citizen
    physical = post(setting, citizen, "/api/v1/cards", {"pan": "4111 1111 1111 1111"}, "link-1")
    assert physical.status_code == 201, physical.text
    card = physical.json()
    assert (card["form"], card["last_four"], card["status"], card["pan"]) == (
        "physical",
        "1111",
        "active",
        None,
    )
    assert "4111111111111111" not in physical.text
    again = post(setting, citizen, "/api/v1/cards", {"pan": "4111 1111 1111 1111"}, "link-1")
    assert again.json()["id"] == card["id"]
    assert_problem(
        post(setting, citizen, "/api/v1/cards", {"pan": "4111111111111112"}),
        400,
        "INVALID_CARD_NUMBER",
    )
    # The same card linked again (another key) is the same PAN: it exists already.
    assert_problem(
        post(setting, citizen, "/api/v1/cards", {"pan": "4111111111111111"}), 409, "ALREADY_EXISTS"
    )

    url = f"/api/v1/cards/{card['id']}"
    assert post(setting, citizen, f"{url}/block", None).json()["status"] == "blocked"
    assert post(setting, citizen, f"{url}/unblock", None).json()["status"] == "active"
    assert post(setting, citizen, f"{url}/lost", None).json()["status"] == "lost"
    assert_problem(
        post(setting, citizen, f"{url}/unblock", None), 409, "CARD_STATUS_CHANGE_NOT_ALLOWED"
    )
    assert_problem(
        post(setting, citizen, f"{url}/replacement", {}), 400, "INVALID_CARD_NUMBER"
    )  # a physical card is replaced by the new card's number
    replaced = post(setting, citizen, f"{url}/replacement", {"pan": "5555555555554444"})
    assert replaced.status_code == 201, replaced.text
    assert (replaced.json()["replaces_card_id"], replaced.json()["last_four"]) == (
        card["id"],
        "4444",
    )

    virtual = post(setting, citizen, "/api/v1/cards", {}).json()
    assert virtual["form"] == "virtual"
    assert virtual["pan"].endswith(virtual["last_four"])
    listed = setting.client.get("/api/v1/cards", headers=citizen.auth).json()
    assert [(c["id"], c["status"]) for c in listed] == [
        (card["id"], "replaced"),
        (replaced.json()["id"], "active"),
        (virtual["id"], "active"),
    ]
    shown = setting.client.get(f"/api/v1/cards/{virtual['id']}", headers=citizen.auth).json()
    assert shown["pan"] == virtual["pan"]  # derived again, never stored

    stranger = setting.new_citizen()
    assert_problem(
        setting.client.get(f"/api/v1/cards/{virtual['id']}", headers=stranger.auth),
        404,
        "CARD_NOT_FOUND",
    )
    assert_problem(
        post(setting, stranger, f"/api/v1/cards/{virtual['id']}/block", None), 404, "CARD_NOT_FOUND"
    )
