"""Models a run needs, reused when present and trained when missing: bootstrap, training recipes, shipped assets, generator training."""
