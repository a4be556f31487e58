"""Motion-emotion classifier (used by the metrics and by perception)."""
from policies.emotion.model import EmotionClassifierConfig, MotionEmotionClassifier

__all__ = ["EmotionClassifierConfig", "MotionEmotionClassifier"]
