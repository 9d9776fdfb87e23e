"""Deterministic percentage bucketing, compatible with Unleash clients (DESIGN §5).

A user lands in bucket ``murmur3_32("{group}:{user}", seed) % 100 + 1`` (1..100), and is in a
rollout of ``p`` percent when that bucket is at most ``p``. The same user therefore stays in as
the percentage grows (rollouts are monotonic), and the group (by default the flag's name) keeps
different flags' rollouts independent. Checked against Unleash's client-specification vectors.
"""

from __future__ import annotations

import mmh3

BUCKETS = 100
VARIANT_SEED = 86028157  # the seed Unleash uses for variant assignment
VARIANT_BUCKETS = 10_000  # weights of variants are in 1/10,000ths, so they need a finer hash


def bucket(identifier: str, group_id: str, *, buckets: int = BUCKETS, seed: int = 0) -> int:
    """The bucket (1..``buckets``) of ``identifier`` within ``group_id``."""
    # Hashed as bytes: mmh3 given a str with a lone surrogate crashes the interpreter. Valid
    # text encodes to the bytes mmh3 would hash anyway, so buckets stay Unleash's.
    key = f"{group_id}:{identifier}".encode("utf-8", "surrogatepass")
    return mmh3.hash(key, seed, signed=False) % buckets + 1


def in_rollout(identifier: str, group_id: str, percentage: float) -> bool:
    """Whether ``identifier`` is inside a ``percentage`` (0-100) rollout of ``group_id``."""
    if percentage <= 0:
        return False
    return bucket(identifier, group_id) <= percentage
