"""Judges, the experience store, lifelong metrics and the expert-update policy."""
