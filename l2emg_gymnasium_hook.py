"""Registers L2-EMG's Gymnasium ids the moment ``gymnasium`` is imported, in an environment where l2emg is
installed with pip (``l2emg-gymnasium.pth`` imports this module at interpreter start). Gymnasium 1.x no
longer loads plugin entry points, so ``gymnasium.make("L2EMG/Interaction-v0")`` would otherwise need an
``import envs`` first. Cheap and inert: it imports nothing until gymnasium itself is imported, and a
failure here never stops gymnasium from loading."""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys


class _AfterGymnasium(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "gymnasium":
            return None
        sys.meta_path.remove(self)  # find gymnasium's own spec, once
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_register(module):
            exec_module(module)
            try:
                from envs.registration import register_envs

                register_envs()
            except Exception as exc:  # noqa: BLE001 - never break gymnasium for its users
                print(f"l2emg: could not register its Gymnasium ids ({type(exc).__name__}: {exc})", file=sys.stderr)

        spec.loader.exec_module = exec_and_register
        return spec


if "gymnasium" not in sys.modules and not any(isinstance(f, _AfterGymnasium) for f in sys.meta_path):
    sys.meta_path.insert(0, _AfterGymnasium())
