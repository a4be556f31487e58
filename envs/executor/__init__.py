"""Physics execution of a Motion: the tracking executor and its result."""
from envs.executor.config import ExecutorConfig, load_executor_config
from envs.executor.result import ExecutionResult, PhysicsMetrics
from envs.executor.tracker import TrackingExecutor

__all__ = ["ExecutionResult", "ExecutorConfig", "PhysicsMetrics", "TrackingExecutor", "load_executor_config"]
