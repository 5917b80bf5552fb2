"""Entry points: they parse input, call one service and render its result, nothing more.

``api`` (FastAPI: ``/api/v1`` and the log's read API, plus the background publisher and
webhook deliverer), ``web`` (server-rendered pages), ``cli`` (the ``dongne`` command) and
``witness`` (a tlog-witness server). Errors are mapped to HTTP status in one table,
``api/errors.py``; nothing below the entry points knows of HTTP.
"""
