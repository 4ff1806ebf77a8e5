"""The two arms: their codes in patient tables and their names in every column and metric."""
from __future__ import annotations

CONTROL, RECHALLENGE = 0, 1
#: code -> name, rechallenge first (the experimental arm is arm 1 of every binary test)
ARMS = {RECHALLENGE: "rechallenge", CONTROL: "control"}
ARM_NAMES = tuple(ARMS.values())
