"""dongne: an open platform for mobile local-currency vouchers (지역사랑상품권).

Layers, from the inside out (import-linter keeps each to the layers below it): ``domain``
(money rules and the error tree, pure Python), ``tlog`` (the verifiable log, pure),
``adapters`` (the database and its stores, HTTP clients, files and keys), ``services`` (use
cases, the only code that changes state, each in a unit of work), ``bootstrap`` (the
composition root, built from ``config``) and ``entrypoints`` (the HTTP API, the web pages, the
``dongne`` command and the witness). ``docs/architecture.md`` draws them.
"""

__version__ = "0.1.0"
