"""Scripted self-evolution episodes: their YAML, the runner, the report and the targets read off it."""
