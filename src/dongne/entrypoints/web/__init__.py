"""Server-rendered pages (Jinja2): the citizen's phone wallet, the merchant's counter, the
city's console and the public pages.

- ``approval``: the approval page of partner payments (``/pay/{id}``): it shows the order and
  takes the phone, the password and the payment PIN; no session, its own form token.
- ``citizen``: signing up and in (``/signup``, ``/login``) and buying (``/wallet/buy``), on a
  session cookie.
- ``citizen_wallets``: the balance and its region switcher (``/wallet``), opening a wallet in
  another region (``/wallet/regions``), the filtered history (``/wallet/history``), walking
  points (``/wallet/walking``) and the sale's line (``/wallet/queue``).
- ``citizen_transfers``: a gift (``/wallet/gift``), cancelling a purchase
  (``/wallet/purchases/{id}``) and a balance refund (``/wallet/refund``), each with the
  rule's reason when it is refused.
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
- ``shop``: the merchant's counter on a tablet (``/shop``, ``/shop/poster``,
  ``/shop/payments`` updating live, cancelling a payment, ``/shop/request``);
  ``shop_settlement``: the shop's settlement statements and their CSV; ``shop_apply``: the
  public form to apply to join a region as a merchant (``/shop/apply``).
- ``console_allowances``: the console's allowance programs (``/console/allowances``): the
  list, creating one, a program's page and its report. ``console_allowance_uploads``: a
  program's recipient lists: upload, preview with the reason per row, disbursement with its
  progress (``static/console_progress.js``). ``console_settlement``: settlement runs, a day's
  files and its reconciliation (``/console/settlement``). Each table is also a CSV download.
- ``public``: pages anyone opens without logging in: the transparency page, and the merchant
  directory of each region with its map (Leaflet, from the XStatic-Leaflet package).
- ``merchant_location``: the console's page where an official puts a merchant on the map
  (``/console/merchants/{id}/location``).
- ``pages``: what every page shares: cookies, form tokens (``csrf``), security
  headers, errors beside their fields, the error page. ``i18n``: Korean and English.
- ``console``: the city console for officials (desktop): what its pages share, the dashboard
  (``/console``, its charts drawn by ``console_charts`` as SVG) and the voucher program's
  settings; ``console_applications`` (merchant applications), ``console_merchants`` (the
  region's merchants, suspended and reinstated),
  ``console_walking`` (walking-reward rules and budget), ``console_fraud`` (fraud alerts).
- ``csv_download``: the console's tables as CSV files (UTF-8 with a BOM, a header row).

Pages follow the API's rule: parse the form, call a service, render. They speak HTML rather
than problem+json, so a refused request comes back as the same page with the message next to
the field it concerns; the status still comes from the one error table in ``api/errors.py``.
Plain HTML forms with a CSRF token work without JavaScript; a few small scripts under
``static/`` add to them (the live payment list, the progress bar, the camera, the map), and
each area has its stylesheet beside ``dongne.css``. Everything is served by the same app
(Leaflet from the XStatic-Leaflet package): nothing comes from a CDN.
"""
