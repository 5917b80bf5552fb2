"""Server-rendered pages (Jinja2): what a citizen opens in a phone's browser.

- ``approval``: the approval page of partner payments (``/pay/{id}``): it shows the order and
  takes the phone, the password and the payment PIN; no session, its own form token.
- ``citizen``: the citizen's wallet (``/signup``, ``/login``, ``/wallet``, ``/wallet/buy``,
  ``/wallet/history``), on a session cookie.
- ``citizen_pay``: paying (``/wallet/pin``, ``/wallet/pay``, ``/wallet/paid``): the payment
  PIN, a shop paid by its code. ``citizen_code``: the one-time payment code (``/wallet/code``)
  with its countdown, shown after a redirect (the code rides in a sealed, short-lived cookie).
- ``citizen_scan``: paying by the shop's QR through the camera (``/wallet/scan``): the page's
  script sends frames, ``qr_decoding`` reads them on the server (zxing-cpp), and the pay form
  opens with the shop's code filled in; a photo form does the same without the script.
- ``citizen_receipts``: a payment's receipt (``/wallet/receipts/{id}``) and its "recorded on
  the public ledger" check against the latest witnessed checkpoint (pending until one exists).
- ``citizen_approvals``: what shops and partners ask the citizen to pay (``/wallet/requests``):
  remote payment requests approved with the PIN or declined; partner approvals opened by number.
- ``pages``: what the citizen's pages share: cookies, form tokens (``csrf``), security
  headers, errors beside their fields, the error page. ``i18n``: Korean and English.

Pages follow the API's rule: parse the form, call a service, render. They speak HTML rather
than problem+json, so a refused request comes back as the same page with the message next to
the field it concerns; the status still comes from the one error table in ``api/errors.py``.
Plain HTML forms with a CSRF token, no JavaScript needed: they work on every phone. Styles
are one file under ``static/``, served by the same app: nothing comes from a CDN.
"""
