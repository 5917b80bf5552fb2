"""dongne: an open platform for mobile local-currency vouchers (지역사랑상품권).

Layers, from the inside out: ``domain`` (money rules, pure Python), ``services`` (use cases,
the only code that changes state), ``adapters`` (database, migrations) and ``entrypoints``
(the ``dongne`` command). ``bootstrap`` wires them together from ``config``.
"""

__version__ = "0.1.0"
