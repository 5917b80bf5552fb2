"""The money rules of dongne, in pure Python: no I/O, no frameworks (stdlib only).

Every won is an ``int`` (KRW has no minor unit). A wallet's value is held in *lots*: purchased,
gifted, cashback, walking-reward and allowance lots, each with its face, what was paid for it,
what remains and when it expires; allowance lots are restricted to their program's merchants.
Paying spends lots in the order the guideline fixes; a cancellation puts back exactly the
pieces it took. Every movement of value is a balanced double-entry transaction (``ledger``),
so the sum over all accounts is always zero.

``errors`` holds the one error tree (and draws it, with the errors other modules define); the
other modules are the rules of one subject each: ``money``, ``calendar`` (Asia/Seoul),
``program``, ``merchants``, ``lots``, ``ledger``, ``access`` (roles and PINs), the ways to pay
(``emvco``, ``channels``, ``dynamic_qr``, ``payment_intents``), ``allowances``, ``walking``,
``settlement``, ``fraud``, ``merchant_applications``, ``sale_queue`` and ``leaf`` (the log's
leaf encoding).
"""
