"""Server-rendered pages (Jinja2): what a citizen opens in a phone's browser.

- ``approval``: the approval page of partner payments (``/pay/{id}``): it shows the order and
  takes the phone, the password and the payment PIN; no session, its own form token.
- ``citizen``: the citizen's wallet (``/signup``, ``/login``, ``/wallet``, ``/wallet/buy``,
  ``/wallet/history``), on a session cookie.
- ``citizen_pay``: paying (``/wallet/pin``, ``/wallet/pay``, ``/wallet/paid``, ``/wallet/code``):
  the payment PIN, a shop paid by its code, the one-time payment code with its countdown.
- ``shop``: the merchant's counter on a tablet (``/shop``, ``/shop/poster``,
  ``/shop/payments`` updating live, cancelling a payment, ``/shop/request``);
  ``shop_settlement``: the shop's settlement statements and their CSV; ``shop_apply``: the
  public form to apply to join a region as a merchant (``/shop/apply``).
- ``public``: pages anyone opens without logging in: the transparency page, and the merchant
  directory of each region with its map (Leaflet, from the XStatic-Leaflet package).
- ``merchant_location``: the console's page where an official puts a merchant on the map
  (``/console/merchants/{id}/location``).
- ``pages``: what the citizen's pages share: cookies, form tokens (``csrf``), security
  headers, errors beside their fields, the error page. ``i18n``: Korean and English.

Pages follow the API's rule: parse the form, call a service, render. They speak HTML rather
than problem+json, so a refused request comes back as the same page with the message next to
the field it concerns; the status still comes from the one error table in ``api/errors.py``.
Plain HTML forms with a CSRF token, no JavaScript needed: they work on every phone. Styles
are one file under ``static/``, served by the same app: nothing comes from a CDN.
"""
