"""The L2-EMG datasets: building (bandai-4, synth-8), caching, loading and checking."""
from policies.data.builder import prepare
from policies.data.config import DatasetConfig, load_dataset_config, load_emotion_labels
from policies.data.dataset import L2EMGDataset

__all__ = ["DatasetConfig", "L2EMGDataset", "load_dataset_config", "load_emotion_labels", "prepare"]
