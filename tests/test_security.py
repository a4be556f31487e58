"""The security promises of the README, read off the source (issue 25): nothing is unpickled (no pickle-family
import, no ``torch.load`` without ``weights_only=True``, no ``yaml.load`` without a safe loader, no
``allow_pickle=True``), Ray starts without its dashboard and with its token authentication left as Ray sets
it (on by default for local clusters since Ray 2.59), and nothing in the runtime opens a network connection."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("envs", "policies", "feedback", "agent", "benchmarks")
PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "copyreg"}
SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "SAFE_LOADER", "BaseLoader", "CBaseLoader"}
NETWORK_MODULES = {"requests", "urllib.request", "http.client", "httpx", "aiohttp", "ftplib", "smtplib"}


def _name(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain or a name, '' otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def unsafe_uses(source: str, filename: str = "<src>") -> list[str]:
    """Every unsafe deserialisation (and network import) in ``source``, as 'file:line: what'."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PICKLE_MODULES:
                    found.append(f"{where}: import {a.name}")
                if a.name in NETWORK_MODULES or a.name.split(".")[0] in NETWORK_MODULES:
                    found.append(f"{where}: import {a.name} (network)")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in PICKLE_MODULES:
                found.append(f"{where}: from {node.module} import ...")
            if node.module in NETWORK_MODULES or node.module.split(".")[0] in NETWORK_MODULES:
                found.append(f"{where}: from {node.module} import ... (network)")
        elif isinstance(node, ast.Call):
            fn = _name(node.func)
            if fn.endswith("torch.load"):
                wo = _keyword(node, "weights_only")
                if not (isinstance(wo, ast.Constant) and wo.value is True):
                    found.append(f"{where}: {fn}(...) without weights_only=True")
            if fn in ("yaml.load", "yaml.load_all"):
                loader = _keyword(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
                if loader is None or _name(loader).split(".")[-1] not in SAFE_LOADERS:
                    found.append(f"{where}: {fn}(...) without a safe loader")
            if fn in ("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all"):
                found.append(f"{where}: {fn}(...)")
            ap = _keyword(node, "allow_pickle")
            if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                found.append(f"{where}: allow_pickle={ast.unparse(ap)}")
            if fn.endswith("read_pickle") or fn.endswith("from_pickle"):
                found.append(f"{where}: {fn}(...)")
    return found


def _sources():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, path.read_text()


def test_the_scanner_finds_what_it_looks_for():
    planted = ("import pickle\nfrom dill import loads\nimport torch\nimport yaml\nimport numpy as np\n"
               "torch.load('x')\ntorch.load('x', weights_only=False)\nyaml.load(t)\nyaml.load(t, Loader=yaml.Loader)\n"
               "yaml.unsafe_load(t)\nnp.load('x', allow_pickle=True)\nimport urllib.request\n"
               "torch.load('x', weights_only=True)\nyaml.load(t, Loader=yaml.CSafeLoader)\nyaml.safe_load(t)\n"
               "np.load('x', allow_pickle=False)\n")
    found = unsafe_uses(planted)
    assert len(found) == 9, found
    assert not any(f"<src>:{n}:" in f for f in found for n in (13, 14, 15, 16))  # the safe forms pass


def test_nothing_is_unpickled_and_nothing_reaches_the_network():
    found = [f for path, src in _sources() for f in unsafe_uses(src, str(path.relative_to(ROOT)))]
    assert not found, "unsafe deserialisation or network use:\n" + "\n".join(found)


def test_ray_starts_without_dashboard_and_leaves_token_authentication_to_ray():
    src = (ROOT / "agent" / "runtime" / "actors.py").read_text()
    inits = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and _name(n.func).endswith("ray.init")]
    # a call that starts a cluster: address "local" (the embedded default); one without an address only joins
    # RAY_ADDRESS's cluster (it never starts one: the branch checks the variable)
    local = [c for c in inits if isinstance(_keyword(c, "address"), ast.Constant) and _keyword(c, "address").value == "local"]
    joins = [c for c in inits if _keyword(c, "address") is None]
    assert len(local) + len(joins) == len(inits) and 'os.environ.get("RAY_ADDRESS")' in src
    assert local and all(isinstance(_keyword(c, "include_dashboard"), ast.Constant) and
                         _keyword(c, "include_dashboard").value is False for c in local)
    assert not [p for p, s in _sources() if "RAY_AUTH_MODE" in s], "token authentication must stay as Ray sets it"
