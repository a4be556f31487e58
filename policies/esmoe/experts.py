"""LoRA experts as peft adapters on one backbone, mixed per sequence.

Every adapter stays active in peft. Inside ``mixing(weights)`` each LoRA layer computes
base(x) + sum_j w_bj * s_j * B_j A_j x itself (``_mixed_forward``): the per-sequence weight scales the
rank-r intermediate rather than the layer's output, and the frozen experts run as one stacked low-rank
product, so one forward pass mixes experts with per-sample weights (the ES-MoE gate, O-LoRA's sum, or a
one-hot choice). Outside it (no weights set) peft's own forward runs and adapters simply add up.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from policies.esmoe.config import LoRASettings
from policies.torch_utils import memo_on_tensors


class ExpertBank:
    def __init__(self, model, lora: LoRASettings) -> None:
        self.base_model = model
        self.lora = lora
        self.peft = None
        self.names: list[str] = []
        self.trainable: set[str] = set()
        self.weights = None  # (B, E) tensor or None
        self._hooks: list = []
        self._layers: list = []
        self._layers_key: tuple | None = None

    @property
    def model(self):
        return self.peft if self.peft is not None else self.base_model

    def lora_config(self):
        from peft import LoraConfig

        l = self.lora
        return LoraConfig(r=l.rank, lora_alpha=l.alpha, lora_dropout=l.dropout, target_modules=list(l.target_modules),
                          bias="none", task_type="CAUSAL_LM")

    def add(self, name: str, trainable: bool = True) -> None:
        """A new expert (peft adapter ``name``); with ``trainable`` it is the only adapter that learns."""
        from peft import get_peft_model

        if name in self.names:
            raise ValueError(f"expert {name!r} exists already")
        if self.peft is None:
            for p in self.base_model.parameters():
                p.requires_grad_(False)
            self.peft = get_peft_model(self.base_model, self.lora_config(), adapter_name=name)
        else:
            self.peft.add_adapter(name, self.lora_config())
        self._register(name)
        self.set_trainable({name} if trainable else set())

    def _register(self, name: str) -> None:
        """Give the adapter the next weight column: its lora_B outputs are scaled by it."""
        self.names.append(name)
        j = len(self.names) - 1
        for layer in self.lora_layers():
            self._hooks.append(layer.lora_B[name].register_forward_hook(self._scale_hook(j)))

    def lora_layers(self) -> list:
        """The peft LoRA layers (cached: adding an adapter reuses the same layer modules)."""
        from peft.tuners.lora import LoraLayer

        key = (id(self.peft), len(self.names))
        if self._layers_key != key:
            self._layers = [m for m in self.model.modules() if isinstance(m, LoraLayer)]
            self._layers_key = key
        return self._layers

    def _scale_hook(self, j: int):
        """Scales ``lora_B``'s output by the sequence's weight when peft's own forward runs under weights
        (a layer type ``_mixed_forward`` does not take over); the mixed forward bypasses the hook."""
        def hook(module, inputs, output):
            w = self.weights
            if w is None:
                return output
            return output * w[:, j].reshape(-1, *([1] * (output.dim() - 1))).to(output.dtype)
        return hook

    def _frozen_stack(self, layer) -> tuple | None:
        """The frozen experts of ``layer`` as one low-rank pair: A (sum r, in), B (out, sum r) with the
        LoRA scaling folded into B, and the expert index of every rank row. Kept until those experts change."""
        import torch

        cols = [(j, n) for j, n in enumerate(self.names) if n not in self.trainable]
        if not cols:
            return None
        tensors = [t for _, n in cols for t in (layer.lora_A[n].weight, layer.lora_B[n].weight)]

        def build() -> tuple:
            # ordinary tensors even inside a generation's inference mode: the stack also serves the training
            # forwards that follow, and an inference tensor cannot be saved for backward
            with torch.inference_mode(False), torch.no_grad():
                a = torch.cat([layer.lora_A[n].weight for _, n in cols])
                b = torch.cat([layer.lora_B[n].weight * layer.scaling[n] for _, n in cols], 1)
                owner = torch.cat([torch.full((layer.lora_A[n].weight.shape[0],), j, device=a.device) for j, n in cols])
            return a, b, owner

        # rebuilt only when an expert or its weights change (~1-2 ms a request on the tiny backbone)
        return memo_on_tensors(layer, "_l2emg_frozen_stack", tensors, build,
                               (tuple(cols), tuple(float(layer.scaling[n]) for _, n in cols)))

    def _mixed_forward(self, layer, stack: tuple | None):
        """peft's vanilla LoRA forward with per-sequence expert weights applied to the rank-r activations
        (the output-sized products per expert were ~15 % of a training step on CPU)."""
        import torch.nn.functional as F

        peft_forward = type(layer).forward.__get__(layer)
        base = layer.get_base_layer()

        memo: dict = {"w": None}

        def coefficients(w, x):
            """The rank-row weights of the frozen stack (None when all zero on CPU) and each trainable expert's
            scaled weight, shaped for ``x``: computed once per weights tensor, not per token (decoding calls
            this forward ~20 times with the same weights; the ops and so the values are the same)."""
            key = (x.dim(), x.dtype, x.device.type)
            if memo["w"] is not w or memo["key"] != key:
                shape = (len(w),) + (1,) * (x.dim() - 2) + (-1,)
                stacked = None
                if stack is not None:
                    coef = w[:, stack[2]].to(x.dtype)
                    # skipping all-zero weights saves a product on CPU; on a GPU the test is a host sync per
                    # layer and token (150 a token on SmolLM2-135M), dearer than the product it saves
                    if x.device.type != "cpu" or bool(coef.any()):
                        stacked = coef.reshape(shape)
                own = [(n, (w[:, j:j + 1].to(x.dtype) * layer.scaling[n]).reshape(shape))
                       for j, n in enumerate(self.names) if n in self.trainable]
                memo.update(w=w, key=key, stacked=stacked, own=own)
            return memo["stacked"], memo["own"]

        def forward(x, *args, **kwargs):
            w = self.weights
            if w is None or args or kwargs or getattr(layer, "merged", False) or layer.disable_adapters:
                return peft_forward(x, *args, **kwargs)
            stacked, own = coefficients(w, x)
            out = base(x)
            if stacked is not None:
                out = out + F.linear(F.linear(x, stack[0]) * stacked, stack[1])
            for n, c in own:
                z = layer.lora_A[n](layer.lora_dropout[n](x))
                out = out + F.linear(z * c, layer.lora_B[n].weight)
            return out
        forward.mixing_parts = (layer, stack, self)  # what the NumPy decoder computes itself (decode_numpy.py)
        return forward

    def set_trainable(self, names: set[str]) -> None:
        """All adapters active in the forward pass; only ``names`` receive gradients (and LoRA dropout: a
        frozen expert computes in training what it computes at inference)."""
        from torch import nn

        from policies.esmoe.dropout import ByteDropout

        self.peft.base_model.set_adapter(list(self.names))
        self.trainable = set(names)
        for n, p in self.peft.named_parameters():
            p.requires_grad_(any(f".{name}." in n for name in names) and "lora_" in n)
        # Dropout on the inputs of frozen experts was ~45 % of a training step with four experts (CPU RNG).
        for layer in self.lora_layers():
            for name in self.names:
                want_dropout = name in self.trainable and self.lora.dropout > 0
                if want_dropout != isinstance(layer.lora_dropout[name], ByteDropout):
                    layer.lora_dropout[name] = ByteDropout(self.lora.dropout) if want_dropout else nn.Identity()

    def parameters_of(self, name: str) -> list:
        return [p for n, p in self.peft.named_parameters() if "lora_" in n and f".{name}." in n]

    def lora_A(self, name: str) -> list:
        """The down-projection matrices of an expert, layer by layer."""
        return [layer.lora_A[name].weight for layer in self.lora_layers()]

    def expert_size(self, name: str) -> int:
        return sum(p.numel() for p in self.parameters_of(name))

    def copy(self, source: str, target: str) -> None:
        """Copy one adapter's weights into another (same shapes)."""
        import torch

        with torch.no_grad():
            for a, b in zip(self.parameters_of(source), self.parameters_of(target)):
                b.copy_(a)

    @contextmanager
    def mixing(self, weights):
        """Per-sequence adapter weights (B, E) for the forwards inside the block."""
        from peft.tuners.lora.layer import Linear

        old, self.weights = self.weights, weights
        install = weights is not None and old is None and self.peft is not None
        layers = self.lora_layers() if install else []
        try:
            for layer in layers:
                if type(layer) is not Linear or layer.lora_variant or not all(n in layer.lora_A for n in self.names):
                    continue  # not a vanilla LoRA linear on every expert: peft's forward and the scale hooks
                layer.forward = self._mixed_forward(layer, self._frozen_stack(layer))
            yield
        finally:
            for layer in layers:
                layer.__dict__.pop("forward", None)
            self.weights = old

    def merge_copy_elements(self) -> int:
        """Elements of the base weights :meth:`merged` folds into, and so copies once per block."""
        return sum(layer.get_base_layer().weight.numel() for layer in self.lora_layers())

    @contextmanager
    def merged(self, weights):
        """One weight per expert (E,) shared by the whole batch: fold the weighted experts into the base
        weights and bypass the adapters (one dense matmul per layer instead of one per expert), then restore
        the exact original weights. The fast path for single interactions on a small backbone: restoring the
        exact bits takes a copy of every targeted base weight per block (:meth:`merge_copy_elements`), so
        callers fold only under a budget (ES-MoE: ``decode.merge_max_elements``) and mix otherwise."""
        import torch
        from torch.autograd.graph import increment_version

        saved = []
        layers = self.lora_layers()
        ws = weights.tolist()  # one device->host copy, not one per layer and expert
        try:
            with torch.no_grad():
                for layer in layers:
                    base = layer.get_base_layer()
                    saved.append((base, base.weight.data.clone()))
                    delta = self._merged_delta(layer, ws)
                    if delta is not None:
                        base.weight.data += delta.to(base.weight.dtype)
                        # ``.data`` ops leave the version counter alone: bump it, or a cache of arrays derived from
                        # the weight (the NumPy and compiled decoders' stacks, keyed on versions) serves the fold later
                        increment_version(base.weight)
            # Bypass the adapters layer by layer: each LoRA wrapper calls its base linear directly. peft's
            # disable_adapter() context walks the whole model for its status and resets requires_grad on exit
            # (~50 ms a request on the tiny backbone), and its disabled forward still checks arguments per call.
            for layer, (base, _) in zip(layers, saved):
                layer.forward = base.forward
            yield
        finally:
            for layer in layers:
                layer.__dict__.pop("forward", None)
            for base, w in saved:
                base.weight.data.copy_(w)
                increment_version(base.weight)

    def _merged_delta(self, layer, ws: list[float]):
        """sum_j ws_j s_j B_j A_j for the nonzero weights, or None. The same floating-point operations in the
        same order as ``sum(w * s * (B @ A) ...)`` (so the same bits), but in place: one product buffer instead
        of three fresh tensors per expert (allocating and faulting them in was most of a batch-1 request's
        merge, ~10 ms of CPU on the tiny backbone with two experts)."""
        import torch

        delta = scratch = None
        for j, n in enumerate(self.names):
            if ws[j] == 0.0:
                continue
            c = ws[j] * layer.scaling[n]  # a Python float, as in the expression above
            if delta is None:
                # sum() starts from 0: 0 + x turns -0.0 into +0.0, hence the add_
                delta = torch.mm(layer.lora_B[n].weight, layer.lora_A[n].weight).mul_(c).add_(0)
            else:
                scratch = torch.mm(layer.lora_B[n].weight, layer.lora_A[n].weight, out=scratch)
                delta.add_(scratch.mul_(c))
        return delta

    def save(self, directory: str | Path, name: str) -> Path:
        """peft's own format (adapter_config.json + adapter_model.safetensors) in ``directory/name``."""
        directory = Path(directory)
        self.peft.save_pretrained(str(directory), selected_adapters=[name], safe_serialization=True)
        return directory / name if name != "default" else directory

    def load(self, directory: str | Path, name: str) -> None:
        """Add an expert saved by :meth:`save` (frozen)."""
        from peft import PeftModel

        path = Path(directory)
        if not (path / "adapter_model.safetensors").is_file():
            raise FileNotFoundError(f"{path}: no adapter_model.safetensors (not a saved expert)")
        if self.peft is None:
            for p in self.base_model.parameters():
                p.requires_grad_(False)
            self.peft = PeftModel.from_pretrained(self.base_model, str(path), adapter_name=name, is_trainable=False)
        else:
            self.peft.load_adapter(str(path), adapter_name=name, is_trainable=False)
        self._register(name)
        self.set_trainable(self.trainable - {name})
