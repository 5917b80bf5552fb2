"""Every page's router, in one list, and the static files: what ``dongne serve`` mounts
beside the API. The order is the order a path is matched in."""

from __future__ import annotations

from fastapi import FastAPI

from dongne.entrypoints.web import (
    approval,
    citizen,
    citizen_approvals,
    citizen_code,
    citizen_pay,
    citizen_receipts,
    citizen_scan,
    citizen_transfers,
    citizen_wallets,
    console,
    console_allowance_uploads,
    console_allowances,
    console_applications,
    console_cards,
    console_fraud,
    console_merchants,
    console_paper,
    console_reports,
    console_settlement,
    console_walking,
    merchant_location,
    public,
    shop,
    shop_apply,
    shop_settlement,
)
from dongne.entrypoints.web.pages import install_static_files

PAGE_MODULES = (
    approval,
    citizen,
    citizen_pay,
    console_allowances,
    console_allowance_uploads,
    console_settlement,
    citizen_wallets,
    citizen_transfers,
    citizen_scan,
    citizen_receipts,
    citizen_approvals,
    citizen_code,
    public,
    shop_apply,
    shop,
    shop_settlement,
    console,
    console_applications,
    console_merchants,
    console_walking,
    console_fraud,
    console_reports,
    console_cards,
    console_paper,
    merchant_location,
)


def include_pages(api: FastAPI) -> None:
    for module in PAGE_MODULES:
        api.include_router(module.router)
    install_static_files(api)
