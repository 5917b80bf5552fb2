"""The ``dongne`` command (Typer + Rich): the operator's and the city's tool.

One module of commands per subject (wallets, accounts, allowances, walking, merchant
applications, settlement, fraud, webhooks, the log and its witness) and ``demo``. Commands
parse their arguments, call a service and print the result; a refused one prints
``error [CODE] message`` and exits non-zero. Settlement, expiry and the fraud scan are run
from here (or the API), by hand or by the operator's scheduler.
"""
