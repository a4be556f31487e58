"""The humanoid's segment masses against an anthropometric table, and its centre of mass's height (issue 18).

The body is built from geoms of one density (capsules, the head's and hands' spheres, the feet's boxes;
`envs/humanoid.py`, radii in `configs/humanoid.yaml`), scaled to `total_mass_kg`; this reads what share of that mass
each segment got, against de Leva (1996, "Adjustments to Zatsiorsky-Seluyanov's segment inertia parameters", J.
Biomech. 29(9), male), and where the centre of mass sits in the rest pose. RESULTS.md "Physical-model changes and
walking-MPC settings screened on dataset-1".

    PYTHONPATH=. python docs/experiments/segment_masses.py
"""
from __future__ import annotations

import json

# de Leva 1996, male, % of body mass, per side where paired; our bodies per segment (each body holds the capsules
# from its joint to its children, so the trunk is the pelvis, the three spine bodies and the collars)
DE_LEVA = {"head and neck": (6.94, ("neck", "head")),
           "trunk": (43.46, ("pelvis", "spine1", "spine2", "spine3", "l_collar", "r_collar")),
           "upper arm": (2.71, ("l_shoulder",)), "forearm": (1.62, ("l_elbow",)), "hand": (0.61, ("l_wrist",)),
           "thigh": (14.16, ("l_hip",)), "shank": (4.33, ("l_knee",)), "foot": (1.37, ("l_ankle", "l_foot"))}


def main() -> None:
    import mujoco

    from envs.humanoid import build_model

    model, _ = build_model()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    total = float(model.body_subtreemass[1])
    mass = {model.body(b).name: float(model.body_mass[b]) for b in range(1, model.nbody)}
    head, sole = model.geom("head").id, model.geom("l_ankle_foot").id
    bottom = float(data.geom_xpos[sole][2] - model.geom_size[sole][2])
    top = float(data.geom_xpos[head][2] + model.geom_size[head][0]) - bottom
    com = float(data.subtree_com[1][2]) - bottom
    rows = {seg: {"model_pct": round(100 * sum(mass[b] for b in bodies) / total, 2), "de_leva_pct": pct}
            for seg, (pct, bodies) in DE_LEVA.items()}
    print(json.dumps({"total_mass_kg": round(total, 2), "segments": rows,
                      "stature_m": round(top, 3), "com_height_m": round(com, 3),
                      "com_height_share_of_stature": round(com / top, 3)},
                     indent=1))


if __name__ == "__main__":
    main()
