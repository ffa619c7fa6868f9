"""Regenerate the cluster-state fixtures with the real kubectl (see README.md).

Objects are made by `kubectl create ... --dry-run=client -o json` (and `kubectl patch --local`),
served by tests/support/kubeapi.py, and read back by `kubectl get ... -o json|yaml`, so every
file here is exactly what kubectl prints. Run from the repository root:

    python tests/data/secrets/generate.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parents[2]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[2]))

from tests.support.certs import make_test_pki  # noqa: E402
from tests.support.kubeapi import KubeAPIServer, write_kubeconfig  # noqa: E402

#: Fixture values: fake, and distinctive so that tests can prove none leaks into any output.
PASSWORD = "FIXTURE-REGISTRY-PASSWORD-7f3a"
DB_PASSWORD = "FIXTURE-DB-PASSWORD-91c2"
API_TOKEN = "FIXTURE-API-TOKEN-5d0e"


def kubectl(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", *args], input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout


def create(*args: str) -> dict[str, Any]:
    return json.loads(kubectl("create", *args, "--dry-run=client", "-o", "json"))


def objects(namespace: str, tls_dir: Path) -> list[dict[str, Any]]:
    ns = ["-n", namespace]
    deployer = create("serviceaccount", "deployer", *ns)
    builder = create("serviceaccount", "builder", *ns)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(builder, handle)
    patch = json.dumps({"imagePullSecrets": [{"name": "regcred"}]})
    builder = json.loads(
        kubectl("patch", "--local", "-f", handle.name, "-p", patch, "--type=merge", "-o", "json")
    )
    Path(handle.name).unlink()
    return [
        create(
            "secret",
            "docker-registry",
            "regcred",
            "--docker-server=registry.example.com",
            "--docker-username=shop-ci",
            f"--docker-password={PASSWORD}",
            *ns,
        ),
        create("secret", "generic", "db", f"--from-literal=password={DB_PASSWORD}", *ns),
        create("secret", "generic", "app-env", "--from-literal=LOG_LEVEL=debug", *ns),
        create(
            "secret",
            "tls",
            "tls-certs",
            f"--cert={tls_dir / 'server.crt'}",
            f"--key={tls_dir / 'server.key'}",
            *ns,
        ),
        create("secret", "generic", "api-token", f"--from-literal=token={API_TOKEN}", *ns),
        deployer,
        builder,
    ]


def snapshot(objs: list[dict[str, Any]], work: Path, *args: str) -> str:
    with KubeAPIServer(work, objs, tokens={"generate": "fixture-generator"}) as api:
        config = write_kubeconfig(
            work / "kubeconfig", api.url, user={"token": "generate"}, ca_file=api.pki.ca_file
        )
        return kubectl("--kubeconfig", str(config), "get", *args)


def generate(out: Path = HERE) -> None:
    """Write every cluster-state fixture into `out`."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = make_test_pki(work / "tls")
        shop = objects("shop", pki.ca_dir.parent)
        everything = [*shop, create("serviceaccount", "other", "-n", "default")]
        full = snapshot(everything, work / "a", "secrets,serviceaccounts", "-A", "-o", "json")
        (out / "cluster-state.json").write_text(full)
        (out / "cluster-state.yaml").write_text(
            snapshot(everything, work / "b", "secrets,serviceaccounts", "-A", "-o", "yaml")
        )
        (out / "shop-secrets.json").write_text(
            snapshot(everything, work / "c", "secrets", "-n", "shop", "-o", "json")
        )
        stripped = json.loads(full)  # as `jq 'del(.items[].data)'` would
        for item in stripped["items"]:
            item.pop("data", None)
        (out / "cluster-state-nodata.json").write_text(json.dumps(stripped, indent=4) + "\n")
        elsewhere = objects("default", pki.ca_dir.parent)
        (out / "wrong-namespace.json").write_text(
            snapshot(elsewhere, work / "d", "secrets,serviceaccounts", "-A", "-o", "json")
        )


if __name__ == "__main__":
    generate()
