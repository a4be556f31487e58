"""Text-motion retrieval evaluator (frozen MiniLM + projection, conv motion encoder)."""
from policies.evaluator.evaluator import MotionTextEvaluator
from policies.evaluator.model import EvaluatorConfig, RetrievalModel

__all__ = ["EvaluatorConfig", "MotionTextEvaluator", "RetrievalModel"]
