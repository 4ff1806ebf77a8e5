"""Validated field types shared by the scenario schema and the design kinds (pydantic).

Units are in field names (``_days``, ``_months``, ``_prob``); ``Strict`` models refuse unknown keys,
so a typo is an error naming the allowed fields rather than a silently ignored line.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _not_bool(value):
    """pydantic reads true/false as 1/0; YAML also reads yes/no/on/off as true/false."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {str(value).lower()} (YAML reads true/false, yes/no and "
                         f"on/off as true/false)")
    return value


Number = BeforeValidator(_not_bool)
Prob = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False), Number]
OpenProb = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False), Number]
PosFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False), Number]
NonNegFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False), Number]
PosInt = Annotated[int, Field(gt=0), Number]
#: A median survival time: positive, and at most 50 years (beyond that the input is a typo).
Months = Annotated[float, Field(gt=0.0, le=600.0, allow_inf_nan=False), Number]


class Strict(BaseModel):
    """Unknown keys are errors; models are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


Pair = tuple[PosFloat, PosFloat]
