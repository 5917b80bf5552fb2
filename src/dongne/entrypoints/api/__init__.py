"""dongne's HTTP service (FastAPI), run by ``dongne serve``.

``v1`` is the API of citizens' phones, merchants' counters, city offices and partner apps;
``log_routes`` serve the verifiable log (checkpoint, key, tiles). ``errors`` is the one table
from error codes to HTTP status and RFC 9457 problem+json. While the server runs, the log
publisher (``app``) and the webhook deliverer (``webhook_delivery``) work beside it, and each
payment is checked for fraud after its answer is sent (``fraud_watch``).
"""
