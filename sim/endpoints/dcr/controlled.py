"""DCR as control maintained: the scan after the horizon cycle happened and no scan through it showed
progression (a scan showing progression ends the scans, so the horizon's scan being non-PD says it)."""
from __future__ import annotations

from ..common import best_category, controlled_through, response
from . import DcrDefinition, register


@register
class Controlled(DcrDefinition):
    name = "controlled"
    description = ("no progression at any scan through the scan after cycle dcr_horizon_cycles (that scan "
                   "must have happened)")
    order = 2

    def outcomes(self, table, number, scans, cut_day):
        return (controlled_through(table, number, scans, cut_day),
                response(best_category(table, number, scans, cut_day)))

    def label(self, horizon_cycles):
        return f"DCR controlled to cycle {horizon_cycles}"
