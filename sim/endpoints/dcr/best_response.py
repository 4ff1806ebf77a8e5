"""DCR as best response: the best RECIST category over the scans through the horizon is CR, PR or SD."""
from __future__ import annotations

from ..common import best_category, disease_control, response
from . import DcrDefinition, register


@register
class BestResponse(DcrDefinition):
    name = "best_response"
    description = "best response CR/PR/SD over the scans through the one after cycle dcr_horizon_cycles"
    # A scan showing progression ends the scans, so the best category is CR/PR/SD exactly when the
    # first scan's is.
    same_as_first_scan = True
    order = 1

    def outcomes(self, table, number, scans, cut_day):
        best = best_category(table, number, scans, cut_day)
        return disease_control(best), response(best)

    def label(self, horizon_cycles):
        return f"DCR best response to cycle {horizon_cycles}"
