"""Scenario: schema, loading, validation."""
