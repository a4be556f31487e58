"""Motion tokenizer: a 1-D convolutional VQ-VAE (codebook 512, temporal downsampling 4)."""
from policies.tokenizer.model import MotionVQVAE, TokenizerConfig
from policies.tokenizer.tokenizer import VQTokenizer

__all__ = ["MotionVQVAE", "TokenizerConfig", "VQTokenizer"]
