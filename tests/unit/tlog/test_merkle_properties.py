"""Proofs, compact ranges and tiles agree with each other on random trees."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dongne.tlog.errors import MalformedLogData, ProofInvalid
from dongne.tlog.merkle import (
    EMPTY_ROOT,
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

MAX_SIZE = 3000


def leaves(count: int, salt: int = 0) -> list[bytes]:
    """Cheap, distinct leaf hashes; the salt makes a different tree of the same size."""
    prefix = salt.to_bytes(4, "big")
    return [hashlib.sha256(prefix + i.to_bytes(8, "big")).digest() for i in range(count)]


class TileStore:
    """Tiles filled from the nodes CompactRange.append completes, as the sequencer stores them."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.tiles: dict[tuple[int, int], bytearray] = {}
        self.compact = CompactRange()
        self.reads = 0
        for leaf in leaf_hashes:
            for height, index, node in self.compact.append(leaf):
                if height % TILE_HEIGHT == 0:
                    level, tile_index, position = tile_for_node(height, index)
                    tile = self.tiles.setdefault((level, tile_index), bytearray())
                    assert len(tile) == 32 * position
                    tile += node

    def read_tile(self, level: int, index: int) -> bytes:
        self.reads += 1
        return bytes(self.tiles[level, index])


class CountingSource:
    def __init__(self, inner: HashSource) -> None:
        self.inner = inner
        self.reads = 0

    def subtree_hash(self, height: int, index: int) -> bytes:
        self.reads += 1
        return self.inner.subtree_hash(height, index)


class BigTree:
    """70,000 leaves: past the 256 and 65,536 tile boundaries. Built once, on first use."""

    def __init__(self) -> None:
        self.leaves = leaves(70_000)
        self.memory = MemoryHashSource(self.leaves)
        self.tiles = TileStore(self.leaves)


big = functools.cache(BigTree)

tree_sizes = st.integers(min_value=1, max_value=MAX_SIZE)
salts = st.integers(min_value=0, max_value=2**32 - 1)
fast = settings(max_examples=60, deadline=None)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(tree_sizes)
    return draw(st.integers(min_value=0, max_value=size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(tree_sizes)
    return draw(st.integers(min_value=1, max_value=new)), new


@fast
@given(salts, index_and_size())
def test_generated_inclusion_proofs_verify(salt: int, index_size: tuple[int, int]) -> None:
    index, size = index_size
    tree = leaves(size, salt)
    source = MemoryHashSource(tree)
    proof = inclusion_proof(index, size, source)
    verify_inclusion(tree[index], index, size, proof, root_hash(size, source))


@fast
@given(salts, index_and_size(), st.data())
def test_inclusion_proof_for_another_leaf_does_not_verify(
    salt: int, index_size: tuple[int, int], data: st.DataObject
) -> None:
    index, size = index_size
    tree = leaves(size, salt)
    source = MemoryHashSource(tree)
    proof, root = inclusion_proof(index, size, source), root_hash(size, source)
    with pytest.raises(ProofInvalid):
        verify_inclusion(leaf_hash(b"not in the tree"), index, size, proof, root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        with pytest.raises(ProofInvalid):
            verify_inclusion(tree[other], other, size, proof, root)


@fast
@given(index_and_size(), st.data())
def test_inclusion_proof_for_another_tree_size_does_not_verify(
    index_size: tuple[int, int], data: st.DataObject
) -> None:
    index, size = index_size
    other = data.draw(st.integers(index + 1, MAX_SIZE).filter(lambda s: s != size), label="size")
    proof = inclusion_proof(index, size, big().memory)
    with pytest.raises(ProofInvalid):
        verify_inclusion(big().leaves[index], index, other, proof, root_hash(other, big().memory))


@fast
@given(salts, two_sizes())
def test_generated_consistency_proofs_verify(salt: int, sizes: tuple[int, int]) -> None:
    old, new = sizes
    source = MemoryHashSource(leaves(new, salt))
    proof = consistency_proof(old, new, source)
    verify_consistency(old, new, root_hash(old, source), root_hash(new, source), proof)


@fast
@given(two_sizes(), st.data())
def test_consistency_proof_for_other_tree_sizes_does_not_verify(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    old, new = sizes
    other_new = data.draw(st.integers(old, MAX_SIZE), label="other new")
    other_old = data.draw(st.integers(1, other_new), label="other old")
    # The empty proof between equal sizes rightly holds for every tree and itself.
    if (other_old, other_new) == (old, new) or (old == new and other_old == other_new):
        return
    proof = consistency_proof(old, new, big().memory)
    old_root, new_root = root_hash(other_old, big().memory), root_hash(other_new, big().memory)
    with pytest.raises(ProofInvalid):
        verify_consistency(other_old, other_new, old_root, new_root, proof)


@fast
@given(salts, two_sizes())
def test_consistency_proof_from_a_forked_tree_does_not_verify(
    salt: int, sizes: tuple[int, int]
) -> None:
    old, new = sizes
    honest = leaves(new, salt)
    forked = MemoryHashSource([*honest[: old - 1], leaf_hash(b"rewritten"), *honest[old:]])
    source = MemoryHashSource(honest)
    with pytest.raises(ProofInvalid):
        verify_consistency(
            old,
            new,
            root_hash(old, forked),
            root_hash(new, source),
            consistency_proof(old, new, source),
        )


@settings(max_examples=10, deadline=None)
@given(salts, tree_sizes)
def test_compact_range_root_equals_the_tree_root_at_every_size(salt: int, size: int) -> None:
    tree = leaves(size, salt)
    source = MemoryHashSource(tree)
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT
    for leaf in tree:
        compact.append(leaf)
        assert compact.root() == root_hash(compact.size, source)


@fast
@given(st.integers(0, MAX_SIZE))
def test_compact_range_round_trips_through_bytes(size: int) -> None:
    compact = CompactRange()
    for leaf in big().leaves[:size]:
        compact.append(leaf)
    restored = CompactRange.from_bytes(size, compact.to_bytes())
    assert (restored.size, restored.hashes, restored.root()) == (
        size,
        compact.hashes,
        compact.root(),
    )
    restored.append(big().leaves[size])
    compact.append(big().leaves[size])
    assert restored.hashes == compact.hashes


@fast
@given(st.integers(1, MAX_SIZE), st.integers(-2, 2).filter(bool))
def test_compact_range_bytes_of_the_wrong_length_are_malformed(size: int, extra: int) -> None:
    compact = CompactRange(size, [big().leaves[0]] * size.bit_count())
    data = compact.to_bytes() + bytes(32 * extra) if extra > 0 else compact.to_bytes()[: 32 * extra]
    with pytest.raises(MalformedLogData):
        CompactRange.from_bytes(size, data)


def test_append_returns_each_completed_node_leaf_first_then_upward() -> None:
    compact = CompactRange()
    for leaf in big().leaves[:7]:
        compact.append(leaf)
    completed = compact.append(big().leaves[7])
    assert [(height, index) for height, index, _ in completed] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert [node for _, _, node in completed] == [
        big().memory.subtree_hash(height, index) for height, index, _ in completed
    ]
    assert completed[-1][2] == compact.root() == root_hash(8, big().memory)


@fast
@given(st.integers(1, MAX_SIZE))
def test_appended_nodes_are_exactly_the_perfect_nodes_of_the_tree(size: int) -> None:
    compact = CompactRange()
    nodes = [node for leaf in big().leaves[:size] for node in compact.append(leaf)]
    assert len(nodes) == 2 * size - size.bit_count()
    assert all(big().memory.subtree_hash(height, index) == h for height, index, h in nodes)


@fast
@given(index_and_size(), st.integers(1, MAX_SIZE))
def test_tiles_built_from_appended_nodes_reproduce_roots_and_proofs(
    index_size: tuple[int, int], old: int
) -> None:
    index, size = index_size
    old = min(old, size)
    tiles = TileHashSource(big().tiles.read_tile)
    assert root_hash(size, tiles) == root_hash(size, big().memory)
    assert inclusion_proof(index, size, tiles) == inclusion_proof(index, size, big().memory)
    assert consistency_proof(old, size, tiles) == consistency_proof(old, size, big().memory)


SIZES_ACROSS_TILE_BOUNDARIES = [255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000]


@pytest.mark.parametrize("size", SIZES_ACROSS_TILE_BOUNDARIES)
def test_tiles_of_70000_leaves_reproduce_roots_across_tile_boundaries(size: int) -> None:
    assert root_hash(size, TileHashSource(big().tiles.read_tile)) == root_hash(size, big().memory)


def test_the_compact_range_of_70000_leaves_has_the_tree_root() -> None:
    assert big().tiles.compact.size == 70_000
    assert big().tiles.compact.root() == root_hash(70_000, big().memory)


@pytest.mark.parametrize(
    ("index", "size"),
    [(0, 70_000), (255, 256), (256, 257), (65_535, 65_536), (65_536, 65_537), (69_999, 70_000)],
)
def test_inclusion_proofs_from_tiles_across_tile_boundaries_verify(index: int, size: int) -> None:
    proof = inclusion_proof(index, size, TileHashSource(big().tiles.read_tile))
    assert proof == inclusion_proof(index, size, big().memory)
    verify_inclusion(big().leaves[index], index, size, proof, root_hash(size, big().memory))


@pytest.mark.parametrize(
    ("old", "new"), [(1, 70_000), (256, 65_536), (257, 65_537), (65_535, 70_000), (69_999, 70_000)]
)
def test_consistency_proofs_from_tiles_across_tile_boundaries_verify(old: int, new: int) -> None:
    proof = consistency_proof(old, new, TileHashSource(big().tiles.read_tile))
    assert proof == consistency_proof(old, new, big().memory)
    verify_consistency(old, new, root_hash(old, big().memory), root_hash(new, big().memory), proof)


@pytest.mark.parametrize(
    "prove",
    [lambda s: inclusion_proof(12_345, 70_000, s), lambda s: consistency_proof(12_345, 70_000, s)],
)
def test_a_proof_reads_at_most_two_subtrees_per_tree_level(
    prove: Callable[[HashSource], object],
) -> None:
    counting = CountingSource(big().memory)
    prove(counting)
    assert counting.reads <= 2 * (70_000).bit_length()


@pytest.mark.parametrize(
    "prove",
    [lambda s: inclusion_proof(12_345, 70_000, s), lambda s: consistency_proof(12_345, 70_000, s)],
)
def test_a_proof_reads_at_most_two_tiles_per_tile_level(
    prove: Callable[[HashSource], object],
) -> None:
    before = big().tiles.reads
    prove(TileHashSource(big().tiles.read_tile))
    assert big().tiles.reads - before <= 2 * 3
