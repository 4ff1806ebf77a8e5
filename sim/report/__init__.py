"""Presentation: terminal tables (and later plots and HTML)."""
