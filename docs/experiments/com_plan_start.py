"""The centre-of-mass plan at a clip's first step (issue 18; RESULTS.md, "Thirteen changes screened on dataset-1").

No simulation. Per clip, the horizontal offset `envs/executor/com_plan.py` adds to the clip's centre of mass (the
target the whole-body controller and the walking MPC track in mode `none`): at the first step, its largest over the
clip, and its rate at the start; then how many clips with an offset of 2 cm or more have their largest at the first
step. The plan's ZMP map has no acceleration term in its first and last rows (p = p_ref + dc there), so at the first
step only the offset itself moves the reference's ZMP onto the soles, while the body starts where the clip is.

    PYTHONPATH=. python docs/experiments/com_plan_start.py                 # every dataset-1 clip
    PYTHONPATH=. python docs/experiments/com_plan_start.py 'dash*' 'walk-back*'
    PYTHONPATH=. python docs/experiments/com_plan_start.py path/to/dataset-2_run_active_001.bvh --set com_plan.margin=0.04
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _clips, _executor, _motion  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="*", default=["*"],
                        help="dataset-1 clip globs without the prefix, or .bvh paths")
    parser.add_argument("--set", default="", help="executor config overrides, e.g. com_plan.margin=0.04")
    args = parser.parse_args()
    executor = _executor(args.set)
    moved = first = 0
    for clip in _clips(args.clips or ["*"]):
        planted, stance = executor.planted(executor.reference(_motion(clip)))
        offset = executor.com_plan(planted, stance).offset
        size = np.linalg.norm(offset, axis=1)
        rate = float(np.linalg.norm(offset[1] - offset[0]) / planted.dt) if len(offset) > 1 else 0.0
        largest = int(np.argmax(size))
        if size[largest] >= 0.02:
            moved += 1
            first += largest == 0
        print(f"{Path(clip).stem:42s} at the first step {100 * size[0]:5.1f} cm, largest {100 * size[largest]:5.1f} cm "
              f"at {largest * planted.dt:5.2f} s, rate at the start {rate:.2f} m/s", flush=True)
    print(f"{moved} clips moved by 2 cm or more somewhere; {first} of them most at the first step")


if __name__ == "__main__":
    main()
