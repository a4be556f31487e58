"""Motion tokens in a language model's vocabulary: ``<motion_i>`` for each code, begin/end markers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BEGIN, END = "<som>", "<eom>"


def motion_token(i: int) -> str:
    return f"<motion_{i}>"


@dataclass
class MotionVocabulary:
    """Maps VQ codes to token ids of a (resized) language model vocabulary and back."""

    codebook_size: int
    first_id: int  # id of <motion_0>; codes are contiguous
    begin_id: int
    end_id: int

    @classmethod
    def add_to(cls, tokenizer, codebook_size: int) -> "MotionVocabulary":
        """Register the special tokens with a Hugging Face tokenizer (the model must then be resized)."""
        tokens = [motion_token(i) for i in range(codebook_size)]
        tokenizer.add_tokens([BEGIN, END] + tokens, special_tokens=True)
        ids = tokenizer.convert_tokens_to_ids(tokens)
        if ids != list(range(ids[0], ids[0] + codebook_size)):
            raise ValueError("motion tokens did not get contiguous ids")
        return cls(codebook_size, ids[0], tokenizer.convert_tokens_to_ids(BEGIN), tokenizer.convert_tokens_to_ids(END))

    def codes_to_ids(self, codes: np.ndarray | list[int]) -> list[int]:
        codes = np.asarray(codes)
        if codes.size and (codes.min() < 0 or codes.max() >= self.codebook_size):
            raise ValueError(f"motion codes must lie in [0, {self.codebook_size}), got {codes.min()}..{codes.max()}")
        return (codes + self.first_id).tolist()

    def is_motion(self, token_id: int) -> bool:
        return self.first_id <= token_id < self.first_id + self.codebook_size

    def ids_to_codes(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """Codes between ``<som>`` (if present) and the first ``<eom>``; other ids are an error."""
        ids = list(np.asarray(ids).tolist())
        if self.begin_id in ids:
            ids = ids[ids.index(self.begin_id) + 1:]
        if self.end_id in ids:
            ids = ids[: ids.index(self.end_id)]
        bad = [i for i in ids if not self.is_motion(i)]
        if bad:
            raise ValueError(f"token ids {bad[:5]} are not motion tokens (valid: {self.first_id}..{self.first_id + self.codebook_size - 1})")
        return np.array(ids, dtype=np.int64) - self.first_id
