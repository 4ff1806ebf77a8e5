"""Summaries of a run: the metric catalogue (every figure's id, label, unit, kind and MCSE rule) and
the operating characteristics computed from the replicate and analyses tables."""
