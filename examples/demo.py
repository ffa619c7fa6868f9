"""`make demo`: a local registry, a few images pushed to it, and the gate run over examples/.

It starts the real distribution registry on 127.0.0.1:5055 (PULLGATE_DEMO_PORT to change;
the example manifests name that port), pushes the images the passing set needs through the
registry API, then runs `pullgate check` twice: examples/passing must exit 0 (a Tekton Task
among its workloads) and examples/failing must exit 1 (a latest tag, one in an Argo Workflow
too, a tag never pushed, a repository typo, an untagged image, a template leftover, a digest
that does not exist, an amd64-only image on arm64 nodes and a secret created in the wrong
namespace). Anything else makes the demo fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.images import push_image, push_index, push_with_oras  # noqa: E402
from tests.support.registry import RegistryServer, RegistryStartError  # noqa: E402

PORT = int(os.environ.get("PULLGATE_DEMO_PORT", "5055"))


def banner(text: str) -> None:
    print(f"\n=== {text}", file=sys.stderr, flush=True)


def seed(server: RegistryServer) -> None:
    push_index(server, "shop/web", "1.4.2", ["linux/amd64", "linux/arm64/v8"], attestations=True)
    push_index(server, "shop/envoy", "1.31", ["linux/amd64", "linux/arm64"], media="docker")
    push_image(server, "shop/report", "2.0", media="docker")
    push_image(server, "shop/report", "latest", media="docker")
    push_with_oras(server, "tools/migrate", "0.9")
    push_image(server, "tools/migrate", "latest")


def check(path: str, *args: str) -> int:
    command = [sys.executable, "-m", "gate", "check", *args, path]
    banner("$ pullgate check " + " ".join([*args, path]))
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pullgate-demo-") as workdir:
        banner(f"starting a distribution registry on 127.0.0.1:{PORT}")
        try:
            server = RegistryServer("anonymous", port=PORT, workdir=Path(workdir)).start()
        except RegistryStartError as exc:
            print(f"demo: cannot start the registry on port {PORT}: {exc}", file=sys.stderr)
            print("demo: set PULLGATE_DEMO_PORT only if you also edit examples/", file=sys.stderr)
            return 1
        with server:
            banner(
                "pushing shop/web (OCI index), shop/envoy (Docker manifest list), "
                "shop/report, tools/migrate (oras-py)"
            )
            seed(server)
            passing = check("examples/passing")
            failing = check("examples/failing")
    banner("demo summary")
    ok = passing == 0 and failing == 1
    print(
        f"examples/passing exited {passing} (expected 0), "
        f"examples/failing exited {failing} (expected 1): {'as expected' if ok else 'UNEXPECTED'}",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
