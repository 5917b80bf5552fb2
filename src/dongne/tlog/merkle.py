"""RFC 9162 section 2.1 Merkle trees: hashes, tree heads, proofs and the compact range.

Everything here reads the tree through one question, "what is the hash of the perfect subtree
of 2**height leaves starting at leaf index * 2**height?" (``HashSource``). Perfect subtrees are
exactly what C2SP tlog-tiles stores, so a source backed by tiles answers each question with one
tile read, and the proof builders below ask O(log n) questions. A range that is not a perfect
subtree is split into the perfect subtrees of its binary decomposition, largest first, and
folded from the right, which is how RFC 9162's MTH shapes an unbalanced tree.

The verifiers follow RFC 9162 2.1.3.2 and 2.1.4.2 step by step (the step numbers appear in the
comments), so they can be read against the RFC. They never trust the proof's length: the
RFC's ``sn`` bookkeeping rejects proofs that are too long or too short.

``CompactRange`` is the tree's right edge: the roots of the perfect subtrees that make up the
current size. Appending a leaf merges equal-height roots like a binary counter's carries, so it
costs one hash per carry, one on average.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from dongne.tlog.errors import MalformedLogData, ProofInvalid

HASH_SIZE = 32
_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()
"""MTH({}): the root of the empty tree."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


class HashSource(Protocol):
    """Answers hashes of perfect subtrees of one tree."""

    def subtree_hash(self, height: int, index: int) -> bytes:
        """The hash of leaves [index * 2**height, (index + 1) * 2**height); height 0 is a leaf."""
        ...


def _require_size(name: str, value: object) -> int:
    # bool is an int subclass; a True slipping in as a size is a bug, not a tree of one leaf.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedLogData(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _require_hash(name: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise MalformedLogData(f"{name} must be {HASH_SIZE} bytes, got {value!r:.80}")
    return value


def _require_proof(proof: object) -> list[bytes]:
    # A bytes object is a Sequence too; reading one as a list of ints would be a silent bug.
    if isinstance(proof, bytes | bytearray | str) or not isinstance(proof, Sequence):
        raise MalformedLogData(f"a proof must be a sequence of hashes, got {type(proof).__name__}")
    return [_require_hash(f"proof hash {i}", p) for i, p in enumerate(proof)]


def _split(size: int) -> int:
    """The largest power of two smaller than size (size > 1): RFC 9162's k."""
    return 1 << ((size - 1).bit_length() - 1)


def _range_hash(lo: int, hi: int, source: HashSource) -> bytes:
    """MTH(D[lo:hi]) for lo < hi, lo aligned to the largest power of two in hi - lo.

    Every range the RFC recursion produces is aligned that way, so each part of the binary
    decomposition is a perfect subtree of the whole tree.
    """
    parts = []
    start = lo
    size = hi - lo
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            parts.append(source.subtree_hash(height, start >> height))
            start += 1 << height
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root_hash(size: int, source: HashSource) -> bytes:
    """MTH(D[0:size]); EMPTY_ROOT for size 0."""
    if _require_size("tree size", size) == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, source)


def inclusion_proof(index: int, size: int, source: HashSource) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]), bottom-up."""
    _require_size("leaf index", index)
    if index >= _require_size("tree size", size):
        raise MalformedLogData(f"leaf index {index} is not below tree size {size}")
    proof = []
    lo, hi = 0, size
    # The RFC recursion descends from the root; it lists the hashes from the leaf up.
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            proof.append(_range_hash(mid, hi, source))
            hi = mid
        else:
            proof.append(_range_hash(lo, mid, source))
            lo = mid
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, source: HashSource) -> list[bytes]:
    """RFC 9162 PROOF(old_size, D[0:new_size]), bottom-up; empty when the sizes are equal."""
    _require_size("old tree size", old_size)
    _require_size("new tree size", new_size)
    if not 0 < old_size <= new_size:
        raise MalformedLogData(
            f"a consistency proof needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    proof = []
    lo, hi, m = 0, new_size, old_size
    # SUBPROOF's b: while the old tree is a whole left-edge node, the verifier has its root.
    whole = True
    while m != hi - lo:
        mid = lo + _split(hi - lo)
        if m <= mid - lo:
            proof.append(_range_hash(mid, hi, source))
            hi = mid
        else:
            proof.append(_range_hash(lo, mid, source))
            m -= mid - lo
            lo = mid
            whole = False
    if not whole:
        proof.append(_range_hash(lo, hi, source))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 2.1.3.2; raises ProofInvalid unless the leaf is at index in the tree of root."""
    r = _require_hash("leaf hash", leaf_hash)
    fn = _require_size("leaf index", index)
    _require_size("tree size", size)
    path = _require_proof(proof)
    _require_hash("root hash", root)
    # 1.
    if index >= size:
        raise ProofInvalid(f"leaf index {index} is not below tree size {size}")
    # 2. and 3.
    sn = size - 1
    # 4.
    for p in path:
        if sn == 0:
            raise ProofInvalid(f"inclusion proof is too long for leaf {index} of tree size {size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # fn is even and non-zero here (fn == sn > 0), so this shifts at least once.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofInvalid(f"inclusion proof is too short for leaf {index} of tree size {size}")
    if r != root:
        raise ProofInvalid(f"inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2; raises ProofInvalid unless new_root's tree extends old_root's.

    Equal sizes need an empty proof and equal roots. Old size 0 is rejected: RFC 9162 defines
    consistency proofs only for 0 < first.
    """
    _require_size("old tree size", old_size)
    _require_size("new tree size", new_size)
    _require_hash("old root hash", old_root)
    _require_hash("new root hash", new_root)
    path = _require_proof(proof)
    if old_size == 0:
        raise ProofInvalid("RFC 9162 defines no consistency proof from the empty tree")
    if old_size > new_size:
        raise ProofInvalid(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size == new_size:
        _verify_same_size(old_size, old_root, new_root, path)
        return
    fr, sr, sn = _walk_consistency(old_size, new_size, old_root, path)
    # 7.
    if sn != 0:
        raise ProofInvalid(f"consistency proof {old_size} -> {new_size} is too short")
    if fr != old_root:
        raise ProofInvalid(f"consistency proof {old_size} -> {new_size} misses the old root")
    if sr != new_root:
        raise ProofInvalid(f"consistency proof {old_size} -> {new_size} misses the new root")


def _verify_same_size(size: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> None:
    if path:
        raise ProofInvalid(
            f"a consistency proof between equal sizes must be empty, got {len(path)}"
        )
    if old_root != new_root:
        raise ProofInvalid(f"two different roots for the same tree size {size}")


def _walk_consistency(
    first: int, second: int, first_hash: bytes, path: list[bytes]
) -> tuple[bytes, bytes, int]:
    """Steps 1 to 6 of RFC 9162 2.1.4.2: returns fr, sr and sn for step 7 to check."""
    # 1.
    if not path:
        raise ProofInvalid(f"consistency proof {first} -> {second} is empty")
    # 2.
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofInvalid(f"consistency proof {first} -> {second} is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr, sr, sn


class CompactRange:
    """The right edge of a tree: roots of the perfect subtrees of size's binary decomposition.

    ``hashes`` lists them largest (leftmost) first, one per set bit of ``size``.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = _require_size("tree size", size)
        self.hashes = [_require_hash("compact range hash", h) for h in hashes]
        if len(self.hashes) != size.bit_count():
            raise MalformedLogData(
                f"a compact range of size {size} has {size.bit_count()} hashes, "
                f"got {len(self.hashes)}"
            )

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Adds a leaf; returns (height, index, hash) of every node it completed, leaf first."""
        if len(leaf_hash) != HASH_SIZE:
            raise MalformedLogData(f"a leaf hash must be {HASH_SIZE} bytes")
        index = size = self.size
        hashes = self.hashes
        completed = [(0, index, leaf_hash)]
        node = leaf_hash
        height = 0
        # Each trailing one bit of size is a left sibling waiting for this right-hand subtree.
        while size & 1:
            node = _sha256(b"\x01" + hashes.pop() + node).digest()
            size >>= 1
            index >>= 1
            height += 1
            completed.append((height, index, node))
        hashes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the current size; EMPTY_ROOT when empty."""
        hashes = self.hashes
        if not hashes:
            return EMPTY_ROOT
        result = hashes[-1]
        for left in reversed(hashes[:-1]):
            result = node_hash(left, result)
        return result

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> CompactRange:
        _require_size("tree size", size)
        if not isinstance(data, bytes) or len(data) != HASH_SIZE * size.bit_count():
            raise MalformedLogData(
                f"a compact range of size {size} is {HASH_SIZE * size.bit_count()} bytes"
            )
        return cls(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])

    def __repr__(self) -> str:
        return f"CompactRange(size={self.size}, root={self.root().hex()})"


class MemoryHashSource:
    """Every perfect node of a tree held in memory, level by level; for tests and audits."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> None:
        levels = self._levels
        levels[0].append(_require_hash("leaf hash", leaf_hash))
        height = 0
        while len(levels[height]) % 2 == 0:
            if height + 1 == len(levels):
                levels.append([])
            levels[height + 1].append(node_hash(levels[height][-2], levels[height][-1]))
            height += 1

    def subtree_hash(self, height: int, index: int) -> bytes:
        if 0 <= height < len(self._levels) and 0 <= index < len(self._levels[height]):
            return self._levels[height][index]
        raise MalformedLogData(
            f"a tree of size {self.size} has no perfect subtree of height {height} at {index}"
        )
