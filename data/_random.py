"""Seeded randomness whose results do not change between Python versions.

`random.Random.random()` is the one part of the standard library generator
that Python promises to keep stable for a given seed; `shuffle`, `choice` and
`randrange` may change their algorithms. Everything here is built on
`random()` alone, so a seed names the same dataset on every Python release.
"""

import random


class StableRandom:
    """A small seeded generator: `choice`, `chance`, `integer`, `shuffled`, `permutation`.

    Args:
        seed: an int or a str (a str is hashed with SHA-512 by `random.Random`,
            which is also stable).
    """

    def __init__(self, seed):
        self._generator = random.Random(seed)

    def random(self) -> float:
        return self._generator.random()

    def integer(self, low: int, high: int) -> int:
        """A whole number in [low, high], both ends included."""
        return low + min(int(self.random() * (high - low + 1)), high - low)

    def index(self, size: int) -> int:
        """A position in range(size)."""
        return self.integer(0, size - 1)

    def choice(self, items):
        return items[self.index(len(items))]

    def chance(self, probability: float) -> bool:
        return self.random() < probability

    def weighted(self, weights) -> int:
        """A position drawn in proportion to `weights`."""
        point = self.random() * sum(weights)
        for position, weight in enumerate(weights):
            point -= weight
            if point < 0:
                return position
        return len(weights) - 1

    def permutation(self, size: int) -> list[int]:
        """range(size) shuffled (Fisher-Yates)."""
        order = list(range(size))
        for last in range(size - 1, 0, -1):
            other = self.integer(0, last)
            order[last], order[other] = order[other], order[last]
        return order
