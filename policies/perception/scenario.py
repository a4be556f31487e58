"""A scenario guess from the utterance and context: MiniLM similarity to scenario descriptions."""
from __future__ import annotations

import numpy as np

from policies.text_encoder import TextEncoder


class ScenarioGuesser:
    def __init__(self, descriptions: dict[str, str], encoder: TextEncoder, temperature: float = 0.05) -> None:
        if not descriptions:
            raise ValueError("scenario guess needs at least one scenario description")
        self.names = list(descriptions)
        self.encoder = encoder
        self.emb = encoder.encode([descriptions[n] for n in self.names])
        self.temperature = temperature

    def guess(self, text: str, candidates: list[str] | None = None) -> dict[str, float]:
        """Probability per scenario (restricted to ``candidates`` when given)."""
        names = [n for n in self.names if candidates is None or n in candidates]
        if not names:
            raise ValueError(f"no known scenario among {candidates}; known: {self.names}")
        idx = [self.names.index(n) for n in names]
        sim = self.encoder.encode([text])[0] @ self.emb[idx].T
        z = np.exp((sim - sim.max()) / self.temperature)
        return dict(zip(names, (z / z.sum()).round(4).tolist()))
