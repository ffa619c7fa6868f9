"""Image volumes and the container runtime: does the node's CRI mount what the pod asks for?

The kubelet pulls an image volume through the CRI and hands it over as a `Mount` with an
`image` (KEP-4639); what is mounted is the runtime's doing, and runtimes differ:

- containerd 1.7 and 2.0 know no image mounts: the mount reaches `WithMounts` with an empty
  host path and CreateContainer fails (`failed to mkdir ""`; containerd v1.7 `pkg/cri/opts/
  spec_linux_opts.go`, v2.0 `internal/cri/opts/spec_linux_opts.go` `WithMounts`; image
  volumes arrived in v2.1.0, `internal/cri/server/container_image_mount.go`).
- containerd 2.1 and later mount an image's unpacked snapshot (`mutateImageMount`). An OCI
  artifact pulls (its layers are not layer types, so nothing is unpacked), and the mount is
  a snapshot with no parent: an empty directory (`identity.ChainID` of no diff IDs).
- CRI-O 1.33 and later pull an artifact into its artifact store (`internal/storage/image.go`
  `pullImageImplementation`, `internal/ociartifact`) and bind each titled layer as a file
  (`server/container_create_linux.go` `mountArtifact`, on by `oci_artifact_mount_support`).

Each is pinned, with its source, in tests/conformance/test_images.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gate.model import Finding, ImageUse
from gate.platform import Platform, Runtime
from gate.policy.images import finding_for


def volume_support_findings(uses: Iterable[ImageUse], runtime: Runtime) -> list[Finding]:
    """`image-volume-unsupported` on every image volume when the runtime mounts none."""
    if runtime.image_volumes:
        return []
    return [
        finding_for(
            "image-volume-unsupported",
            use,
            f"{use.container.label} cannot be mounted: {runtime.label} has no image volumes "
            "(they need containerd 2.1+ or CRI-O)",
            f"The pod would show CreateContainerError on {runtime.label} (`failed to mkdir "
            '""`): its CRI does not know image mounts. Run the pod on nodes with containerd '
            "2.1 or later or CRI-O (say so with --runtime), or ship the files another way "
            "(an init container that copies them).",
        )
        for use in uses
        if use.container.is_volume
    ]


def artifact_volume_finding(
    use: ImageUse, runtime: Runtime, nodes: Sequence[Platform], artifact_types: Sequence[str]
) -> Finding | None:
    """`image-volume-unsupported` when `runtime` would mount an artifact as an empty directory;
    None where it mounts it (CRI-O) or mounts nothing at all (reported once, above)."""
    if runtime.artifact_volumes or not runtime.image_volumes:
        return None
    where = f" on {', '.join(n.spec for n in nodes)}" if nodes else ""
    kinds = ", ".join(artifact_types) or "an artifact config"
    return finding_for(
        "image-volume-unsupported",
        use,
        f"{use.container.label} is an OCI artifact ({kinds}): {runtime.label} mounts it as an "
        f"empty directory{where}",
        f"The pod starts, but the volume holds none of the artifact's files: {runtime.label} "
        "mounts an image volume's unpacked layers, and an artifact's layers are not image "
        "layers. Push the files as a runnable image (layers that are tar archives, an image "
        "config), or run the pod on CRI-O 1.33 or later (--runtime cri-o), which mounts each "
        "titled layer of an artifact as a file.",
    )
