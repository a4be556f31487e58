"""What pyproject.toml cannot say in one place: the packages with configs/ and assets/ as package data under
names of their own (``l2emg_configs``, ``l2emg_assets``, found through importlib.resources by
envs.config.config_dir and agent.recipes.shipped.assets_root when installed outside the checkout), and the
``l2emg-gymnasium.pth`` file at the top of site-packages (as pytest-cov and coverage ship theirs), so that
``import gymnasium`` alone knows the L2EMG ids (see l2emg_gymnasium_hook.py)."""
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

PTH = "l2emg-gymnasium.pth"


class BuildWithPth(build_py):
    def run(self) -> None:
        super().run()
        self.copy_file(str(Path(__file__).parent / PTH), str(Path(self.build_lib) / PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH)]


setup(
    packages=find_packages(include=["agent*", "envs*", "policies*", "feedback*"]) + ["l2emg_configs", "l2emg_assets"],
    package_dir={"l2emg_configs": "configs", "l2emg_assets": "assets"},
    package_data={"l2emg_configs": ["**/*.yaml", "**/*.tsv"], "l2emg_assets": ["**/*"]},
    py_modules=["l2emg_gymnasium_hook"],
    cmdclass={"build_py": BuildWithPth},
)
