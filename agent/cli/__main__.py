"""`python -m agent.cli`: the same as the `l2emg` script."""
import sys

from agent.cli.main import main

sys.exit(main())
