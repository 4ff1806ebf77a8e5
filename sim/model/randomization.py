"""Randomization: permuted blocks within each stratum, from the replicate's own stream."""
from __future__ import annotations

import numpy as np

from ..arms import CONTROL, RECHALLENGE
from . import streams


class BlockRandomizer:
    """Hands out arms stratum by stratum; each stratum's block sequence is its own child stream.

    A block holds block_size * ratio share of each arm in random order, so that the first
    patients of a stratum get the same arms whatever the target sample size.
    """

    def __init__(self, seed: int, replicate: int, ratio: tuple[int, int], block_size: int):
        per = block_size // sum(ratio)
        self.template = np.array([RECHALLENGE] * (ratio[0] * per) + [CONTROL] * (ratio[1] * per), dtype=np.int8)
        self.seed, self.replicate = seed, replicate
        self.queues: dict[int, list[int]] = {}
        self.rngs: dict[int, np.random.Generator] = {}

    def next_arm(self, stratum: int) -> int:
        q = self.queues.get(stratum)
        if not q:
            rng = self.rngs.get(stratum)
            if rng is None:
                rng = self.rngs[stratum] = streams.child(self.seed, self.replicate, streams.RANDOMIZATION, stratum)
            # Reverse so that pop() hands the block out in its drawn order.
            q = self.queues[stratum] = rng.permutation(self.template).tolist()[::-1]
        return q.pop()
