"""The MuJoCo humanoid generated from the SMPL-22 skeleton, and the Y-up <-> Z-up conversion.

Motion data is Y-up (x left, y up, z forward); MuJoCo is Z-up. The one conversion is the cyclic
permutation (x, y, z)_data -> (z, x, y)_mujoco: forward becomes +X, left +Y, up +Z.
Each non-root joint gets three hinges about its T-pose X, Y, Z axes in the joint's Euler order
(``envs.skeleton.EULER_ORDER``), so hinge angles are exactly the Euler angles of the local rotation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.config import config_dir, load_config
from envs.skeleton import JOINT_NAMES, SMPL22, Skeleton, euler_order, joint_limits_deg

_PERM = np.array([2, 0, 1])  # mujoco axis i takes data axis _PERM[i]
_AXES = ("x", "y", "z")


def to_mujoco(v: np.ndarray) -> np.ndarray:
    """Y-up data vectors (..., 3) to MuJoCo Z-up."""
    return np.asarray(v)[..., _PERM]


def from_mujoco(v: np.ndarray) -> np.ndarray:
    """MuJoCo Z-up vectors (..., 3) to Y-up data."""
    return np.asarray(v)[..., [1, 2, 0]]


def quat_to_mujoco(q: np.ndarray) -> np.ndarray:
    """A rotation in data coordinates (w-first) expressed in MuJoCo coordinates (w-first)."""
    q = np.asarray(q)
    return np.concatenate([q[..., :1], q[..., 1:][..., _PERM]], axis=-1)


def quat_from_mujoco(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return np.concatenate([q[..., :1], q[..., 1:][..., [1, 2, 0]]], axis=-1)


@dataclass(frozen=True)
class HumanoidConfig:
    radius: dict[str, float]
    torque_limit: dict[str, float]
    kp: dict[str, float]
    timestep: float = 1.0 / 240.0
    total_mass_kg: float = 70.0
    floor_friction: float = 1.0
    head_radius: float = 0.1
    hand_radius: float = 0.045
    kd_ratio: float = 0.1
    armature: float = 0.02
    joint_damping: float = 1.0
    assist_timeconst: float = 0.03  # s, stiffness of the residual root assistance (a soft weld)

    def __post_init__(self) -> None:
        if not 0 < self.timestep <= 1.0 / 240.0 + 1e-12:
            raise ValueError(f"timestep must be in (0, 1/240] s, got {self.timestep}")
        missing = [n for n in JOINT_NAMES[1:] if n not in self.torque_limit]
        if missing:
            raise ValueError(f"torque_limit misses joints {missing}")

    def gain(self, joint: str) -> float:
        return self.kp.get(joint, self.kp.get("default", 300.0))


def load_humanoid_config(path: str | Path | None = None) -> HumanoidConfig:
    return load_config(path or config_dir() / "humanoid.yaml", HumanoidConfig)


@dataclass
class HumanoidSpec:
    """Names and index maps of a generated humanoid (one per agent in a scene)."""

    prefix: str
    joint_names: list[str] = field(default_factory=list)  # hinge joint names, 3 per non-root joint
    actuator_names: list[str] = field(default_factory=list)
    # (skeleton joint index, Euler axis 0..2) of each hinge, in MuJoCo's qpos order (depth-first tree)
    hinge_index: list[tuple[int, int]] = field(default_factory=list)
    equality: str = ""  # MJCF of the root-assistance weld

    def angle_columns(self) -> list[int]:
        """Columns of a (T, 21 * 3) angle array, joint-major in skeleton order, in qpos order."""
        return [(j - 1) * 3 + a for j, a in self.hinge_index]


def _fmt(v) -> str:
    return " ".join(f"{x:.6g}" for x in np.atleast_1d(v))


def humanoid_body_xml(cfg: HumanoidConfig, prefix: str = "", skeleton: Skeleton = SMPL22,
                      pos: tuple[float, float, float] = (0.0, 0.0, 1.0), rgba: str = "0.8 0.6 0.4 1",
                      density: float = 1000.0) -> tuple[str, str, HumanoidSpec]:
    """(worldbody xml, actuator xml, spec) of one humanoid whose free root sits at ``pos``."""
    spec = HumanoidSpec(prefix)
    limits = joint_limits_deg()
    children = skeleton.children
    lines: list[str] = []
    actuators: list[str] = []

    def body(j: int, depth: int) -> None:
        pad = "  " * depth
        name = JOINT_NAMES[j]
        offset = to_mujoco(skeleton.offsets[j]) if j > 0 else np.array(pos)
        lines.append(f'{pad}<body name="{prefix}{name}" pos="{_fmt(offset)}">')
        if j == 0:
            lines.append(f'{pad}  <freejoint name="{prefix}root"/>')
        else:
            for a in ("XYZ".index(c) for c in euler_order(j)):
                jn = f"{prefix}{name}_{_AXES[a]}"
                axis = np.zeros(3)
                axis[list(_PERM).index(a)] = 1.0  # data axis a in mujoco coordinates
                lo, hi = limits[j, a]
                lines.append(f'{pad}  <joint name="{jn}" type="hinge" axis="{_fmt(axis)}" range="{lo:g} {hi:g}"/>')
                spec.joint_names.append(jn)
                spec.hinge_index.append((j, a))
                tau = cfg.torque_limit[name]
                kp = cfg.gain(name)
                actuators.append(
                    f'    <position name="{jn}" joint="{jn}" kp="{kp:g}" kv="{cfg.kd_ratio * kp:g}" '
                    f'forcerange="{-tau:g} {tau:g}" ctrlrange="-6.2832 6.2832"/>')
                spec.actuator_names.append(jn)
        for c in children[j]:
            r = cfg.radius.get(JOINT_NAMES[c])
            if r is None:
                continue
            end = to_mujoco(skeleton.offsets[c])
            lines.append(f'{pad}  <geom name="{prefix}{name}_to_{JOINT_NAMES[c]}" type="capsule" '
                         f'fromto="0 0 0 {_fmt(end * 0.999)}" size="{r:g}" density="{density:g}" rgba="{rgba}"/>')
        if name in ("l_ankle", "r_ankle"):
            toe = to_mujoco(skeleton.offsets[children[j][0]])
            # A flat foot box from heel to toe joint; its sole is 8.5 cm below the ankle joint, the
            # clearance the motion data assumes for a flat foot.
            heel = np.array([-0.05, toe[1] * 0.3, -0.085 + 0.025])
            tip = np.array([toe[0] + 0.03, toe[1], -0.085 + 0.025])
            centre, half = (heel + tip) / 2, np.abs(tip - heel) / 2
            lines.append(f'{pad}  <geom name="{prefix}{name}_foot" type="box" pos="{_fmt(centre)}" '
                         f'size="{_fmt([max(half[0], 0.01), 0.045, 0.025])}" density="{density:g}" rgba="{rgba}" friction="1 0.02 0.01"/>')
        if name == "head":
            lines.append(f'{pad}  <geom name="{prefix}head" type="sphere" pos="0 0 0.05" size="{cfg.head_radius:g}" density="{density:g}" rgba="{rgba}"/>')
        if name in ("l_wrist", "r_wrist"):
            hand = to_mujoco(skeleton.offsets[j]) / max(np.linalg.norm(skeleton.offsets[j]), 1e-9) * 0.07
            lines.append(f'{pad}  <geom name="{prefix}{name}_hand" type="sphere" pos="{_fmt(hand)}" size="{cfg.hand_radius:g}" density="{density:g}" rgba="{rgba}"/>')
        if name in ("l_foot", "r_foot"):
            lines.append(f'{pad}  <geom name="{prefix}{name}_toes" type="box" pos="0.02 0 -0.01" size="0.03 0.045 0.02" density="{density:g}" rgba="{rgba}" friction="1 0.02 0.01"/>')
        for c in children[j]:
            body(c, depth + 1)
        lines.append(f"{pad}</body>")

    body(0, 2)
    # Root assistance: a mocap target welded to the pelvis by a soft constraint (off unless enabled).
    lines.append(f'    <body name="{prefix}root_target" mocap="true" pos="{_fmt(pos)}"><site name="{prefix}root_target" size="0.02" rgba="0 1 0 0.3"/></body>')
    spec.equality = (f'    <weld name="{prefix}root_assist" body1="{prefix}root_target" body2="{prefix}pelvis" '
                     f'relpose="0 0 0 1 0 0 0" solref="{cfg.assist_timeconst:g} 1" active="false"/>')
    return "\n".join(lines), "\n".join(actuators), spec


def scene_xml(cfg: HumanoidConfig, agents: list[tuple[str, tuple[float, float, float], str]],
              density: float = 1000.0) -> tuple[str, list[HumanoidSpec]]:
    """An MJCF scene with a floor, a light and one humanoid per (prefix, position, rgba)."""
    bodies, acts, specs = [], [], []
    for prefix, pos, rgba in agents:
        b, a, s = humanoid_body_xml(cfg, prefix, pos=pos, rgba=rgba, density=density)
        bodies.append(b); acts.append(a); specs.append(s)
    xml = f"""<mujoco model="l2emg_humanoid">
  <compiler angle="degree" autolimits="true"/>
  <option timestep="{cfg.timestep:.10g}" integrator="implicitfast"/>
  <size memory="16M"/>
  <default>
    <joint armature="{cfg.armature:g}" damping="{cfg.joint_damping:g}" limited="true"/>
    <!-- Body geoms collide with the floor only (contype 1 vs the floor's conaffinity 1), not with
         each other: overlapping capsules at the hips and shoulders would otherwise push apart. -->
    <geom condim="3" friction="{cfg.floor_friction:g} 0.02 0.01" solref="0.015 1" contype="1" conaffinity="0"/>
  </default>
  <visual><global offwidth="1280" offheight="960"/></visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".85 .85 .85" rgb2=".7 .7 .7" width="512" height="512"/>
    <texture name="sky" type="skybox" builtin="gradient" rgb1=".75 .82 .9" rgb2=".97 .97 .97" width="64" height="64"/>
    <material name="grid" texture="grid" texrepeat="8 8" reflectance="0.05"/>
  </asset>
  <worldbody>
    <light pos="0 0 4" dir="0 0 -1" diffuse="0.8 0.8 0.8"/>
    <geom name="floor" type="plane" size="40 40 0.1" material="grid" contype="0" conaffinity="1"/>
    <camera name="side" pos="0 -4.5 1.3" xyaxes="1 0 0 0 0.25 1" mode="trackcom"/>
{chr(10).join(bodies)}
  </worldbody>
  <actuator>
{chr(10).join(acts)}
  </actuator>
  <equality>
{chr(10).join(s.equality for s in specs)}
  </equality>
</mujoco>"""
    return xml, specs


def build_model(cfg: HumanoidConfig | None = None, agents: list[tuple[str, tuple[float, float, float], str]] | None = None):
    """Compile the scene; densities are scaled so each humanoid weighs ``total_mass_kg``."""
    import mujoco

    cfg = cfg or load_humanoid_config()
    agents = agents or [("", (0.0, 0.0, 1.0), "0.85 0.6 0.45 1")]
    xml, specs = scene_xml(cfg, agents)
    model = mujoco.MjModel.from_xml_string(xml)
    mass = float(model.body_mass[1:].sum()) / len(agents)
    density = 1000.0 * cfg.total_mass_kg / mass
    xml, specs = scene_xml(cfg, agents, density=density)
    model = mujoco.MjModel.from_xml_string(xml)
    return model, specs
