"""The closed loop, its actors, scripted episodes, the empathy policy and the ``l2emg`` CLI."""
