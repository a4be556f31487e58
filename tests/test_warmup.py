"""Warm-up of a pretrained backbone on the motion vocabulary (issue 20), on a small local Hugging Face folder
with an untied head: what is saved, what loading puts back."""
import json

import numpy as np
import pytest
import torch

from policies.backbone import load_backbone
from policies.backbone.batch import lm_batch
from policies.backbone.corpus import TokenSample
from policies.backbone.loader import WarmupConfig, word_tokenizer
from policies.backbone.motion_rows import motion_row_ids
from policies.backbone.warmup import warm_up

TEXTS = ["A sad person walks slowly with the head hanging.", "Someone waves happily.", "A man bows politely."]


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory):
    """A 'pretrained' local model without motion tokens, its head untied from the embedding."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from policies.backbone.loader import load_backbone_config

    tok = word_tokenizer(TEXTS + [load_backbone_config().prompt])
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
                                         pad_token_id=tok.pad_token_id, tie_word_embeddings=False))
    path = tmp_path_factory.mktemp("base")
    model.save_pretrained(str(path), safe_serialization=True)
    tok.save_pretrained(str(path))
    return path


def _samples(n: int = 6) -> list[TokenSample]:
    rng = np.random.default_rng(0)
    return [TokenSample(rng.integers(0, 16, size=5), [TEXTS[i % 3]], None, "s", "train", str(i)) for i in range(n)]


def test_warmup_saves_rows_and_adapter_and_loads_back(base_folder, tmp_path):
    from safetensors.torch import load_file

    b = load_backbone(str(base_folder), 16)
    base_head = b.model.get_output_embeddings().weight.detach().clone()
    report = warm_up(b, str(base_folder), _samples(), {"val": _samples(3)}, tmp_path / "w",
                     WarmupConfig(steps=4, batch=2, lora_rank=2, lora_alpha=4), progress=False)
    ids = motion_row_ids(b.vocab)
    rows = load_file(str(tmp_path / "w" / "motion_rows.safetensors"))
    assert set(rows) == {"embed", "head"}  # an untied head has rows of its own
    text = torch.ones(len(base_head), dtype=torch.bool)
    text[ids] = False
    head = b.model.get_output_embeddings().weight.detach()
    assert torch.equal(head[text], base_head[text]) and not torch.equal(head[ids], base_head[ids])
    assert report["val_loss"]["val"] is not None and report["output_bytes"] > 0
    files = {f.name for f in (tmp_path / "w").iterdir()}
    assert files == {"motion_rows.safetensors", "adapter_model.safetensors", "adapter_config.json", "warmup.json", "report.json"}

    loaded = load_backbone(str(tmp_path / "w"), 16)  # the base from its folder + rows + merged adapter
    batch = lm_batch(loaded, TEXTS[:2], [np.array([1, 2, 3]), np.array([4, 5])])
    with torch.no_grad():
        b.model.eval()
        want = b.model(**batch).logits
        got = loaded.model(**batch).logits
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert not any(p.requires_grad for p in loaded.model.parameters())


def test_warmup_manifest_errors_name_file_and_key(base_folder, tmp_path):
    b = load_backbone(str(base_folder), 16)
    out = tmp_path / "w"
    warm_up(b, str(base_folder), _samples(), {}, out, WarmupConfig(steps=1, batch=2, lora_rank=2), progress=False)
    manifest = json.loads((out / "warmup.json").read_text())
    (out / "warmup.json").write_text(json.dumps({**manifest, "format": "other"}))
    with pytest.raises(ValueError, match=r"warmup\.json: key 'format'"):
        load_backbone(str(out), 16)
    (out / "warmup.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"warmup\.json: key 'codebook_size'"):
        load_backbone(str(out), 32)
    with pytest.raises(ValueError, match="tiny backbone is pre-trained whole"):
        warm_up(b, "tiny", _samples(), {}, out, WarmupConfig(steps=1, batch=2), progress=False)


def test_recentre_unseen_moves_only_unused_code_rows_onto_the_trained_mean(base_folder):
    from policies.backbone.motion_rows import recentre_unseen

    b = load_backbone(str(base_folder), 16)
    v = b.vocab
    before = {k: w.detach().clone() for k, w in (("embed", b.model.get_input_embeddings().weight),
                                                  ("head", b.model.get_output_embeddings().weight))}
    assert recentre_unseen(b.model, v, {0, 1, 2}) == 13
    seen, unseen = [v.first_id + c for c in (0, 1, 2)], [v.first_id + c for c in range(3, 16)]
    for k, w in (("embed", b.model.get_input_embeddings().weight), ("head", b.model.get_output_embeddings().weight)):
        old = before[k]
        others = [i for i in range(len(old)) if i not in unseen]
        assert torch.equal(w[others], old[others])  # text, marker and seen-code rows untouched
        torch.testing.assert_close(w[unseen].mean(0), old[seen].mean(0))
        torch.testing.assert_close(w[unseen] - w[unseen].mean(0), old[unseen] - old[unseen].mean(0))
