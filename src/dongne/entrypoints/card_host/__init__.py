"""``dongne card-host``: the ISO 8583 authorization host of card-type vouchers
(``server``), and a terminal that plays the card network for demos and tests
(``simulator``). The wire format is ``adapters/iso8583_messages.py``; ``docs/card-host.md``
documents it."""
