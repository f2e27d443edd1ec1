"""Stand-ins for the live graph's units (``disac_ros.live``): shapes, an echo, an image and a clock set by hand."""
from __future__ import annotations

import numpy as np

N = 3
IMAGE = np.zeros((4, 4, 3), np.uint8)


def echo(value: float = 1.0) -> np.ndarray:
    return np.full((1, 2, 3), value, np.complex64)


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t
