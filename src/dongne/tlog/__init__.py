"""The verifiable log, pure: no database, no web, no clock.

- ``merkle``: RFC 9162 section 2.1 — leaf and node hashes, tree heads, inclusion and
  consistency proofs and their verification, and the compact range (the right edge) that lets
  the sequencer add a leaf without recomputing the tree.
- ``tiles``: C2SP tlog-tiles — tile coordinates and paths, which tiles a tree size has, and a
  hash source that computes any subtree hash from stored tiles.
- ``note``: C2SP signed-note with Ed25519 — key ids, verifier key strings, signing, opening.
- ``checkpoint``: C2SP tlog-checkpoint — the signed tree head's body.
- ``cosignature``: C2SP tlog-cosignature/v1 — a witness's timestamped signature.
- ``witness``: C2SP tlog-witness — the add-checkpoint request and the witness's decision.

The formats are standards so that tools we did not write can verify our log.
"""
