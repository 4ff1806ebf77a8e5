"""Endpoints as pure functions of the trial table: shared per-patient answers (``common``) and the
registered DCR definitions (``dcr``)."""
