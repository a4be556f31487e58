"""Perception: utterance and partner motion -> emotion distribution, confidence, scenario guess."""
from policies.perception.estimator import PerceptionEstimator, PerceptionResult
from policies.perception.text_emotion import PerceptionConfig, TextEmotionEstimator, load_perception_config

__all__ = ["PerceptionConfig", "PerceptionEstimator", "PerceptionResult", "TextEmotionEstimator", "load_perception_config"]
