"""The `l2emg` command line (DESIGN §8): one module per command, shared arguments and helpers in common.py."""
import os

# Before torch loads libgomp, which reads it once: torch's OpenMP workers spin ~300,000 iterations after each
# parallel region by default, and in a process that also runs NumPy's OpenBLAS threads (the compiled decoder's
# products) they take the cores those need. `l2emg bench generator --json` (2 threads, idle machine, three runs
# each; figures in RESULTS "Fast decoding"): 30,000 gives the decoder its cores back, training within ~3 %;
# 10,000 decodes no faster and trains ~7 % slower. Ray's actors run one thread (no OpenMP pool); a value the
# user set wins.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")

from agent.cli.main import main  # noqa: E402

__all__ = ["main"]
