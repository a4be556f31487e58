"""Benchmarks behind `l2emg bench` and `l2emg sim`: lifelong learning, physics tracking and speed, generator, runtime."""
