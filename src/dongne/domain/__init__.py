"""The money rules of dongne, in pure Python: no I/O, no frameworks.

Every won is an ``int`` (KRW has no minor unit). A wallet's value is held in *lots*: each
purchase, gift, cashback or (later) allowance is one lot with its face, what was paid for it,
what remains and when it expires. Paying spends lots in the order the guideline fixes; a
cancellation puts back exactly the pieces it took. Every movement of value is a balanced
double-entry transaction (``ledger``), so the sum over all accounts is always zero.

The modules: ``errors`` (the one error tree), ``money``, ``calendar`` (Asia/Seoul months),
``program`` (a region's voucher program and its limits), ``merchants``, ``lots`` (spending,
refund and expiry arithmetic) and ``ledger`` (accounts, postings, transactions).
"""
