"""The Merkle tree against vectors computed by Go's golang.org/x/mod/sumdb/tlog (see data/)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from dongne.tlog.errors import MalformedLogData, ProofInvalid
from dongne.tlog.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    HashSource,
    MemoryHashSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from dongne.tlog.tiles import TILE_HEIGHT, TileHashSource, tile_for_node

VECTORS = json.loads((Path(__file__).parent / "data" / "rfc6962-tree.json").read_text())
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaves_hex"]]
LEAF_HASHES = [bytes.fromhex(h) for h in VECTORS["leaf_hashes_hex"]]
ROOTS = {size: bytes.fromhex(h) for size, h in enumerate(VECTORS["roots_hex_by_size_from_1"], 1)}
INCLUSION = [
    (v["leaf_index"], v["tree_size"], [bytes.fromhex(h) for h in v["proof_hex"] or []])
    for v in VECTORS["inclusion"]
]
CONSISTENCY = [
    (v["size1"], v["size2"], [bytes.fromhex(h) for h in v["proof_hex"] or []])
    for v in VECTORS["consistency"]
]


def tile_source(leaf_hashes: Sequence[bytes]) -> TileHashSource:
    """Tiles filled from the nodes CompactRange.append completes, as the sequencer stores them."""
    tiles: dict[tuple[int, int], bytes] = {}
    compact = CompactRange()
    for leaf in leaf_hashes:
        for height, index, node in compact.append(leaf):
            if height % TILE_HEIGHT == 0:
                level, tile_index, _ = tile_for_node(height, index)
                tiles[level, tile_index] = tiles.get((level, tile_index), b"") + node
    return TileHashSource(lambda level, index: tiles[level, index])


SOURCES = {
    "memory": lambda: MemoryHashSource(LEAF_HASHES),
    "tiles": lambda: tile_source(LEAF_HASHES),
}


@pytest.fixture(params=sorted(SOURCES))
def source(request: pytest.FixtureRequest) -> HashSource:
    return SOURCES[request.param]()


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_the_vectors_hold_one_hundred_leaves_and_the_well_known_root_of_eight() -> None:
    assert len(LEAVES) == len(LEAF_HASHES) == len(ROOTS) == 100
    assert ROOTS[8].hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_every_leaf_hashes_to_its_vector() -> None:
    assert [leaf_hash(leaf) for leaf in LEAVES] == LEAF_HASHES


def test_every_root_from_1_to_100_matches_through_the_hash_source(source: HashSource) -> None:
    assert {size: root_hash(size, source) for size in ROOTS} == ROOTS


def test_every_root_from_1_to_100_matches_through_compact_range_appends() -> None:
    compact = CompactRange()
    roots = {}
    for leaf in LEAF_HASHES:
        compact.append(leaf)
        roots[compact.size] = compact.root()
    assert roots == ROOTS


def test_the_empty_tree_has_the_hash_of_nothing_as_its_root() -> None:
    empty = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert root_hash(0, MemoryHashSource()) == empty
    assert CompactRange().root() == empty


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_every_inclusion_proof_matches_its_vector_and_verifies(
    source: HashSource, index: int, size: int, expected: list[bytes]
) -> None:
    proof = inclusion_proof(index, size, source)
    assert proof == expected
    verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("old_size", "new_size", "expected"), CONSISTENCY)
def test_every_consistency_proof_matches_its_vector_and_verifies(
    source: HashSource, old_size: int, new_size: int, expected: list[bytes]
) -> None:
    proof = consistency_proof(old_size, new_size, source)
    assert proof == expected
    verify_consistency(old_size, new_size, ROOTS[old_size], ROOTS[new_size], proof)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_changing_any_byte_of_an_inclusion_proof_fails_verification(
    index: int, size: int, proof: list[bytes]
) -> None:
    for step, position in ((s, p) for s in range(len(proof)) for p in range(HASH_SIZE)):
        tampered = [*proof]
        tampered[step] = flipped(proof[step], position)
        with pytest.raises(ProofInvalid, match="does not lead to the root"):
            verify_inclusion(LEAF_HASHES[index], index, size, tampered, ROOTS[size])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_changing_any_byte_of_the_leaf_or_the_root_fails_inclusion(
    index: int, size: int, proof: list[bytes]
) -> None:
    leaf, root = LEAF_HASHES[index], ROOTS[size]
    for position in range(HASH_SIZE):
        with pytest.raises(ProofInvalid, match="does not lead to the root"):
            verify_inclusion(flipped(leaf, position), index, size, proof, root)
        with pytest.raises(ProofInvalid, match="does not lead to the root"):
            verify_inclusion(leaf, index, size, proof, flipped(root, position))


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_an_inclusion_proof_fails_for_another_index_or_tree_size(
    index: int, size: int, proof: list[bytes]
) -> None:
    leaf = LEAF_HASHES[index]
    for other in {index - 1, index + 1} - {-1, index}:
        with pytest.raises(ProofInvalid):
            verify_inclusion(leaf, other, size, proof, ROOTS[size])
    # The root is signed with its size, so a different size comes with that size's root.
    for other in {size - 1, size + 1} - {index, 101}:
        with pytest.raises(ProofInvalid):
            verify_inclusion(leaf, index, other, proof, ROOTS[other])


@pytest.mark.parametrize(("old_size", "new_size", "proof"), CONSISTENCY)
def test_changing_any_byte_of_a_consistency_proof_or_its_roots_fails_verification(
    old_size: int, new_size: int, proof: list[bytes]
) -> None:
    old_root, new_root = ROOTS[old_size], ROOTS[new_size]
    for step, position in ((s, p) for s in range(len(proof)) for p in range(HASH_SIZE)):
        tampered = [*proof]
        tampered[step] = flipped(proof[step], position)
        with pytest.raises(ProofInvalid, match="root"):
            verify_consistency(old_size, new_size, old_root, new_root, tampered)
    for position in range(HASH_SIZE):
        with pytest.raises(ProofInvalid, match="root"):
            verify_consistency(old_size, new_size, flipped(old_root, position), new_root, proof)
        with pytest.raises(ProofInvalid, match="root"):
            verify_consistency(old_size, new_size, old_root, flipped(new_root, position), proof)


@pytest.mark.parametrize(("old_size", "new_size", "proof"), CONSISTENCY)
def test_a_consistency_proof_fails_for_other_tree_sizes(
    old_size: int, new_size: int, proof: list[bytes]
) -> None:
    others = {(old_size - 1, new_size), (old_size + 1, new_size), (old_size, new_size + 1)}
    others |= {(old_size, new_size - 1)} if new_size > old_size else set()
    for old, new in others:
        if 0 < old <= new <= 100:
            with pytest.raises(ProofInvalid):
                verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_an_inclusion_proof_one_hash_short_or_long_fails_on_its_length(
    index: int, size: int, proof: list[bytes]
) -> None:
    leaf, root = LEAF_HASHES[index], ROOTS[size]
    with pytest.raises(ProofInvalid, match="too long"):
        verify_inclusion(leaf, index, size, [*proof, proof[-1] if proof else leaf], root)
    if proof:
        with pytest.raises(ProofInvalid, match="too short"):
            verify_inclusion(leaf, index, size, proof[:-1], root)


ROOT_8 = ROOTS[8]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: verify_inclusion(LEAF_HASHES[8], 8, 8, [], ROOT_8), "not below tree size"),
        (lambda: verify_consistency(0, 8, EMPTY_ROOT, ROOT_8, []), "empty tree"),
        (lambda: verify_consistency(9, 8, ROOTS[9], ROOT_8, []), "larger than"),
        (lambda: verify_consistency(8, 8, ROOT_8, ROOT_8, [ROOT_8]), "must be empty, got 1"),
        (lambda: verify_consistency(8, 8, ROOT_8, ROOTS[7], []), "two different roots"),
        (lambda: verify_consistency(7, 8, ROOTS[7], ROOT_8, []), "is empty"),
    ],
)
def test_proofs_that_cannot_hold_fail_with_a_message_saying_why(
    call: Callable[[], None], message: str
) -> None:
    with pytest.raises(ProofInvalid, match=message):
        call()


def test_a_tree_is_consistent_with_itself_through_the_empty_proof() -> None:
    verify_consistency(8, 8, ROOT_8, ROOT_8, [])
    assert consistency_proof(8, 8, MemoryHashSource(LEAF_HASHES)) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: verify_inclusion(LEAF_HASHES[0], -1, 8, [], ROOT_8),
        lambda: verify_inclusion(LEAF_HASHES[0], 0, True, [], ROOT_8),
        lambda: verify_inclusion(LEAF_HASHES[0], 0, 8.0, [], ROOT_8),
        lambda: verify_inclusion(LEAF_HASHES[0][:31], 0, 8, [], ROOT_8),
        lambda: verify_inclusion(LEAF_HASHES[0].hex(), 0, 8, [], ROOT_8),
        lambda: verify_inclusion(LEAF_HASHES[0], 0, 8, b"".join(LEAF_HASHES[1:4]), ROOT_8),
        lambda: verify_inclusion(LEAF_HASHES[0], 0, 8, [LEAF_HASHES[1] + b"\x00"], ROOT_8),
        lambda: verify_inclusion(LEAF_HASHES[0], 0, 8, [], ROOT_8[:-1]),
        lambda: verify_consistency(-1, 8, ROOT_8, ROOT_8, []),
        lambda: verify_consistency(4, 8, ROOTS[4], ROOT_8, None),
        lambda: inclusion_proof(8, 8, MemoryHashSource(LEAF_HASHES)),
        lambda: inclusion_proof(0, 0, MemoryHashSource(LEAF_HASHES)),
        lambda: consistency_proof(0, 8, MemoryHashSource(LEAF_HASHES)),
        lambda: consistency_proof(9, 8, MemoryHashSource(LEAF_HASHES)),
        lambda: root_hash(-1, MemoryHashSource(LEAF_HASHES)),
        lambda: root_hash(101, MemoryHashSource(LEAF_HASHES)),
        lambda: CompactRange(3, LEAF_HASHES[:1]),
        lambda: CompactRange.from_bytes(3, LEAF_HASHES[0] * 3),
        lambda: CompactRange().append(b"short"),
    ],
)
def test_malformed_arguments_are_rejected_as_malformed_log_data(call: Callable[[], object]) -> None:
    with pytest.raises(MalformedLogData):
        call()
