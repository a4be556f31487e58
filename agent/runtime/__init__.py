"""The closed loop and what serves it: loop, services, Ray actors, local backend, empathy policy, stimuli, typed messages, session wiring."""
