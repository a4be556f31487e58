"""Every Gymnasium id this project provides, registered by name (no env module is imported until an env is
made). ``register_envs()`` is idempotent; installed with pip, ``l2emg_gymnasium_hook`` calls it as soon as
``gymnasium`` is imported, so ``gymnasium.make("L2EMG/...")`` needs no import of ours (Gymnasium 1.x reads
no plugin entry points)."""
from __future__ import annotations

# id -> (entry point, max_episode_steps): 600 control steps of 1/60 s = 10 s
ENVS = {
    "L2EMG/Interaction-v0": ("envs.interaction_env:InteractionEnv", 600),
    "L2EMG/Track-v0": ("envs.track_env:TrackEnv", 600),
}


def register_envs() -> list[str]:
    """Register the ids that are not registered yet; returns all of them."""
    import gymnasium as gym

    for env_id, (entry_point, steps) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=steps)
    return list(ENVS)
