"""Every learned model and the datasets they learn from."""
