"""Patient-level outcome laws: what makes the configured DCR, ORR and medians hold."""
