"""Natural-language descriptions of a motion from its content and style (configs/texts.yaml)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs.config import config_dir, load_config


@dataclass(frozen=True)
class StylePhrases:
    adjectives: list[str]
    adverbials: list[str]
    participles: list[str]


@dataclass(frozen=True)
class TextConfig:
    subjects: list[str]
    templates: list[str]
    styles: dict[str, StylePhrases]
    contents: dict[str, list[str]]
    scenario_context: dict[str, list[str]]


def load_text_config(path: str | Path | None = None) -> TextConfig:
    return load_config(path or config_dir() / "texts.yaml", TextConfig)


class TextComposer:
    """Composes varied descriptions: a template, a subject, content synonyms and style phrases."""

    def __init__(self, config: TextConfig | None = None) -> None:
        self.config = config or load_text_config()

    def compose(self, content: str, style: str, rng: np.random.Generator, scenario: str | None = None,
                count: int = 3) -> list[str]:
        """``count`` distinct descriptions (fewer only if the phrase space is exhausted)."""
        if content not in self.config.contents:
            raise KeyError(f"no phrases for content {content!r} in texts config")
        if style not in self.config.styles:
            raise KeyError(f"no phrases for style {style!r} in texts config")
        phrases = self.config.styles[style]
        context = self.config.scenario_context.get(scenario or "", [""])
        out: list[str] = []
        for _ in range(count * 10):
            if len(out) == count:
                break
            adjective = _pick(rng, phrases.adjectives)
            fields = {
                "subject": _pick(rng, self.config.subjects),
                "content": _pick(rng, self.config.contents[content]),
                "adverbial": _pick(rng, phrases.adverbials),
                "participle": _pick(rng, phrases.participles),
                "a_adjective": f"{_article(adjective)} {adjective}",
            }
            text = _pick(rng, self.config.templates).format(**fields)
            extra = _pick(rng, context)
            if extra:
                text = text[:-1] + f" {extra}."
            text = text[0].upper() + text[1:]
            if text not in out:
                out.append(text)
        return out


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
