"""Image rules: what the reference itself, and the registry's answer for it, say.

Messages say what is wrong in plain words; hints say what the pod would have shown and what to
do. Findings sit on the container's `image:` line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gate import config_entries
from gate.config_entries import ConfigEntry
from gate.model import Finding, ImageUse, Outcome, Resolution
from gate.reference import (
    DEFAULT_DOMAIN,
    REASON_KO_PLACEHOLDER,
    REASON_TEMPLATE,
    InvalidReference,
    Reference,
    api_host,
    parse_reference,
    registry_key,
)
from gate.workload import PodSpec


def image_uses(
    pods: Iterable[PodSpec], answer: Callable[[Reference], Resolution] | None = None
) -> list[ImageUse]:
    """Every container image of every pod, parsed (or with the reason it cannot be); with
    `answer`, each parsed reference already carries its resolution (offline: SKIPPED)."""
    uses: list[ImageUse] = []
    parsed: dict[str, Reference | str] = {}  # an image string recurs in many pods
    for pod in pods:
        for container in (*pod.containers, *pod.image_volumes):
            image = container.image
            if image is None:
                uses.append(ImageUse(pod, container, None, "the container has no image"))
                continue
            if container.image_problem is not None:  # the API server rejects a non-string
                uses.append(ImageUse(pod, container, None, container.image_problem))
                continue
            reference = parsed.get(image)
            if reference is None:
                try:
                    reference = parsed[image] = parse_reference(image)
                except InvalidReference as exc:
                    reference = parsed[image] = _invalid_reason(exc)
            if isinstance(reference, str):
                uses.append(ImageUse(pod, container, None, reference))
            else:
                resolution = answer(reference) if answer is not None else None
                uses.append(ImageUse(pod, container, reference, resolution=resolution))
    return uses


def _invalid_reason(exc: InvalidReference) -> str:
    return f"{exc.reason} ({exc.detail})" if exc.detail else exc.reason


def finding_for(
    rule_id: str, use: ImageUse, message: str, hint: str, entry: ConfigEntry | None = None
) -> Finding:
    """A finding on the container's `image:` line (an image volume's `reference:` line); with
    `entry`, its hint ends with that config entry as the fix."""
    source = use.container
    if entry is not None:
        hint = f"{hint} {_PASTE.get(entry.top, 'In .pullgate.yaml:')} `{entry.inline()}`."
    return Finding.about(
        rule_id,
        use.pod,
        source.line,
        message,
        hint,
        container=None if source.is_volume else source.name,
        volume=source.name if source.is_volume else None,
        image=source.image,
        entry=entry,
    )


_PASTE = {
    "ignore": "If it is accepted here, say why in .pullgate.yaml (this object only):",
    "nodes": "If the nodes reach it by their own means (an instance role, a kubelet "
    "credential), declare it in .pullgate.yaml (a CI login then verifies on their behalf):",
    "registries": "If the nodes pull it through a mirror, name the mirror in .pullgate.yaml:",
}
"""How a hint introduces its config entry, by the entry's top-level key."""


def accept_here(rule_id: str, use: ImageUse) -> ConfigEntry | None:
    """The `ignore:` entry accepting `rule_id` for this object's use of this image."""
    obj, ref = use.pod.object, use.reference
    image = ref.canonical if ref is not None else None
    return config_entries.ignore(rule_id, obj.kind, obj.namespace, obj.name, image)


def static_findings(uses: Iterable[ImageUse]) -> list[Finding]:
    """Findings that need no network: invalid references, `latest`, no tag."""
    findings: list[Finding] = []
    for use in uses:
        ref, image = use.reference, use.container.image
        if ref is None:
            findings.append(_invalidfinding_for(use))
            continue
        if use.container.pull_policy == "Never":
            field = "pullPolicy" if use.container.is_volume else "imagePullPolicy"
            findings.append(
                finding_for(
                    "image-pull-policy-never",
                    use,
                    f"{use.container.label} has `{field}: Never`, so it starts only on nodes "
                    "that already hold the image",
                    "Every other node shows ErrImageNeverPull. Use `IfNotPresent` (or `Always`), "
                    "unless the image is pre-loaded on every node.",
                    accept_here("image-pull-policy-never", use),
                )
            )
        if ref.digest is not None:
            continue  # pulled by digest: whatever the tag says, the content is fixed
        if ref.tag == "latest":
            findings.append(
                finding_for(
                    "image-latest-tag",
                    use,
                    f"image {image} uses the tag `latest`, which names whatever was pushed last",
                    "Nothing fails today, but nodes may run different code after each push and a "
                    "rollback cannot go back. Use a version tag, or pin the digest with "
                    "`pullgate pin`.",
                    accept_here("image-latest-tag", use),
                )
            )
        elif ref.tag is None:
            findings.append(
                finding_for(
                    "image-no-tag",
                    use,
                    f"image {image} has no tag, so the kubelet pulls `{ref.familiar}:latest`",
                    "An implicit `latest` moves with every push. Add a version tag, or pin the "
                    "digest with `pullgate pin`.",
                    accept_here("image-no-tag", use),
                )
            )
    return findings


def _invalidfinding_for(use: ImageUse) -> Finding:
    image = use.container.image
    reason = use.invalid_reason or "invalid reference format"
    if image is None and use.container.is_volume:
        return finding_for(
            "image-reference-invalid",
            use,
            f"{use.container.label} has no reference",
            "The API server rejects the pod (`spec.volumes[].image.reference: Required value`). "
            "Set `reference:` (a workload controller may fill it in; then check what it "
            "renders).",
        )
    if image is None:
        return finding_for(
            "image-reference-invalid",
            use,
            f"container {use.container.name} has no image",
            "The API server rejects the object (`spec.containers[].image: Required value`). "
            "Set `image:`.",
        )
    if reason.startswith(REASON_TEMPLATE):
        hint = (
            "This is template source, not a rendered manifest: the pod would fail with "
            "InvalidImageName. Check the output of `helm template` / `kustomize build`, not the "
            "chart sources, or set the missing value."
        )
    elif reason.startswith(REASON_KO_PLACEHOLDER):
        hint = (
            "A ko:// import path is replaced by `ko resolve`; check the resolved output. The pod "
            "would fail with InvalidImageName."
        )
    else:
        hint = (
            "The pod would fail with InvalidImageName (`couldn't parse image reference`). Write "
            "[registry/]repository[:tag][@digest], repository in lower case."
        )
    return finding_for(
        "image-reference-invalid",
        use,
        f"image {image!r} is not a valid image reference: {reason}",
        hint,
    )


def resolution_findings(uses: Iterable[ImageUse]) -> list[Finding]:
    """Findings from what the registry answered for each pod's image."""
    findings: list[Finding] = []
    for use in uses:
        resolution, ref = use.resolution, use.reference
        if resolution is None or ref is None:
            continue
        if resolution.ok:
            if ref.tag is not None and ref.digest is not None:
                findings.extend(_tag_digest_findings(use))
            if resolution.artifact_config is not None and not use.container.is_volume:
                findings.append(_not_runnable(use, resolution.artifact_config))
            continue
        if resolution.outcome in (Outcome.SKIPPED, Outcome.NOT_PULLED):
            continue  # --offline, or pull policy Never: not asked is not a failure
        registry = "Docker Hub" if ref.domain == DEFAULT_DOMAIN else api_host(ref.domain)
        detail = resolution.detail
        if resolution.outcome is Outcome.NAME_UNKNOWN:
            findings.append(
                finding_for(
                    "image-repository-not-found",
                    use,
                    f"repository {ref.path} does not exist on {registry}",
                    "The pod would show ErrImagePull, then ImagePullBackOff (`repository name "
                    "not known to registry`). Check the registry host and repository name, or "
                    "push the image.",
                )
            )
        elif resolution.outcome is Outcome.NO_HOST:
            findings.append(
                finding_for(
                    "image-digest-not-found" if ref.digest else "image-tag-not-found",
                    use,
                    f"{ref.familiar} cannot be pulled: {detail}",
                    "The nodes' host configuration stops every pull of this registry, so the "
                    "pod would show ErrImagePull. Fix the hosts.toml (or `registries:` entry) "
                    "named, then check again with the nodes' tree (`--containerd-hosts`).",
                )
            )
        elif resolution.outcome is Outcome.MANIFEST_UNKNOWN and ref.digest is not None:
            findings.append(
                finding_for(
                    "image-digest-not-found",
                    use,
                    f"digest {ref.digest} does not exist in {ref.familiar_name}",
                    "The pod would show ErrImagePull, then ImagePullBackOff (`not found`): the "
                    "digest was never pushed to this repository, or was garbage-collected. Pin a "
                    "digest that exists (`pullgate pin`).",
                )
            )
        elif resolution.outcome is Outcome.MANIFEST_UNKNOWN:
            tag = ref.effective_tag
            findings.append(
                finding_for(
                    "image-tag-not-found",
                    use,
                    f"tag {tag} does not exist in {ref.familiar_name}",
                    "The pod would show ErrImagePull, then ImagePullBackOff (`manifest unknown`). "
                    "Push the tag (did the build job run for this version?) or correct it."
                    + _suggest(resolution.suggestions),
                )
            )
        elif resolution.outcome is Outcome.UNAUTHORIZED:
            findings.append(_unauthorized(use, registry))
        elif resolution.outcome is Outcome.UNVERIFIED:
            findings.append(_unverified(use, registry))
        elif resolution.outcome is Outcome.KEYRING_INVALID:
            findings.append(
                finding_for(
                    "pull-secret-invalid",
                    use,
                    f"image {use.container.image} cannot be pulled: the kubelet cannot read "
                    f"{detail}, so it fails every image pull of this pod",
                    "The pod would show ErrImagePull for every container, public images "
                    "included (`MakeDockerKeyring` returns the decoding error). Recreate the "
                    "secret with `kubectl create secret docker-registry`, or fix the field "
                    "named.",
                )
            )
        elif resolution.outcome is Outcome.MANIFEST_INVALID:
            findings.append(
                finding_for(
                    "image-manifest-invalid",
                    use,
                    f"the registry served damaged content for {ref.familiar}: {detail}",
                    "containerd verifies every digest and would refuse it (ErrImagePull), if the "
                    "nodes are served the same. A proxy, cache or mirror between the registry and "
                    "this job, or the registry itself, altered it: compare with `skopeo inspect "
                    "--raw`, fix or bypass the cache, or push the image again.",
                )
            )
        elif resolution.outcome is Outcome.REFUSED:
            findings.append(
                finding_for(
                    "image-registry-unreachable",
                    use,
                    f"could not verify {ref.familiar}: pullgate did not ask, {detail}",
                    "pullgate sends a credential over plain HTTP only to a registry marked "
                    "insecure. Serve the registry over HTTPS (with `--ca-file` for a private CA), "
                    "or, if plain HTTP is intended, mark it with `--insecure-registry HOST` or "
                    "config `insecure-registries` (exit code 3: could not verify).",
                )
            )
        elif resolution.rate_limited:
            findings.append(
                finding_for(
                    "image-registry-unreachable",
                    use,
                    f"could not verify {ref.familiar}: {detail}",
                    "Docker Hub refused this runner more pulls (429 `toomanyrequests`); the "
                    "nodes' budget is their own (per NAT address, or per login), so this says "
                    "nothing about them. Resolve through a pull-through mirror (config "
                    "`registries:`, or the nodes' `--containerd-hosts`), or rerun after the "
                    "reset (exit code 3: could not verify).",
                    config_entries.mirror(registry_key(ref.domain)),
                )
            )
        else:
            findings.append(
                finding_for(
                    "image-registry-unreachable",
                    use,
                    f"could not verify {ref.familiar}: {detail}",
                    "If the nodes cannot reach the registry either, the pod shows ErrImagePull "
                    "(`dial tcp …`, `context deadline exceeded`). Check the host, network, proxy "
                    "and TLS (`--ca-file`, `--insecure-registry`); if this was an outage, retry "
                    "(pullgate exits 3 when it could not verify, 1 when it found a violation).",
                    config_entries.mirror(registry_key(ref.domain)),
                )
            )
    return findings


FIXES = (
    "Fix one: give the pod an imagePullSecret with access to this repository (or its service "
    "account one); declare that the nodes can pull from this registry (config `nodes: "
    "registries`, below); or give the gate the nodes' docker config (`--node-docker-config`) "
    "or credential providers (`--image-credential-provider-config`, "
    "`--image-credential-provider-bin-dir`)."
)


def _unauthorized(use: ImageUse, registry: str) -> Finding:
    resolution, ref = use.resolution, use.reference
    assert resolution is not None and ref is not None
    unmatched = ""
    if use.skipped_providers:
        skipped = "; ".join(
            f"{source.partition(':')[2]}: {why}" for source, why in use.skipped_providers
        )
        unmatched += (
            f" The kubelet would not run the credential provider {skipped}, so it offers "
            "nothing (add the annotation to the service account)."
        )
    if use.unmatched_secrets:
        names = ", ".join(use.unmatched_secrets)
        unmatched += (
            f" The pod's pull secrets {names} have no entry for {api_host(ref.domain)}, so "
            "they were not offered."
        )
    if resolution.pulled_by_ci_login:
        hint = (
            f"The image exists: the CI login {resolution.pulled_by_ci_login} pulled it. But no "
            "node holds that login, so on the cluster the kubelet offers only what is named "
            "above and the pod shows ErrImagePull (`unauthorized: authentication required`). "
            + FIXES
        )
    else:
        hint = (
            "The pod would show ErrImagePull (`unauthorized: authentication required` or "
            "`denied`). " + FIXES + " Or make the repository public."
        )
    return finding_for(
        "image-pull-unauthorized",
        use,
        f"{registry} refused to serve {ref.path} to every credential the kubelet would try: "
        f"{resolution.detail}",
        hint + unmatched,
        config_entries.node_registry(ref.domain),
    )


def _unverified(use: ImageUse, registry: str) -> Finding:
    resolution, ref = use.resolution, use.reference
    assert resolution is not None and ref is not None
    failures = dict(use.provider_failures)
    reasons = [
        _unreplayable_reason(source, failures.get(source))
        for source in (*use.on_behalf_of, *use.unreplayable)
    ]
    if resolution.ci_logins:
        tried = f"no CI login could pull it ({', '.join(resolution.ci_logins)} tried)"
    else:
        tried = f"the CI job has no login for {registry} to verify with"
    if resolution.pulled_by_ci_login:
        tried = (
            f"{resolution.pulled_by_ci_login} can pull it, so the image exists, but that says "
            "nothing of the pod's own identity"
        )
    hints = []
    if any(s.startswith("secret:") for s in use.on_behalf_of):
        hints.append(
            "give the gate the secret's values (a `--cluster-state` file with data, or "
            "`--cluster --cluster-credentials`)"
        )
    if use.on_behalf_of:
        hints.append(
            "give the CI job a login that may pull the image (docker login, CI_REGISTRY_*, "
            "GITHUB_TOKEN): it verifies on the credential's behalf"
        )
    if use.unreplayable:
        hints.append(
            "if the workload's identity is known to have access, accept it with the annotation "
            '`pullgate.io/ignore-image-pull-unverified: "<reason>"`'
        )
    if not reasons:  # a mirror the nodes hold their own credentials for
        return finding_for(
            "image-pull-unverified",
            use,
            f"could not verify that the nodes can pull {ref.familiar}: {resolution.detail}",
            "pullgate exits 3 (could not verify), not 1. The runtime offers the mirror the "
            "nodes' own credentials when the pod has none; to verify, give the pod a pull "
            "secret the mirror accepts, or accept it with the annotation "
            '`pullgate.io/ignore-image-pull-unverified: "<reason>"`.',
            accept_here("image-pull-unverified", use),
        )
    return finding_for(
        "image-pull-unverified",
        use,
        f"could not verify that the pod can pull {ref.familiar}: {'; '.join(reasons)}; the "
        f"credentials the gate can replay got: {resolution.detail}; {tried}",
        "pullgate exits 3 (could not verify), not 1. To verify, " + "; or ".join(hints) + ".",
        accept_here("image-pull-unverified", use),
    )


def _unreplayable_reason(source: str, failure: str | None = None) -> str:
    kind, _, name = source.partition(":")
    if failure is not None:
        return (
            f"credential provider {name} gave no credentials here ({failure}); the node's own "
            "identity may do better"
        )
    if kind == "secret":
        return f"pull secret {name} exists, but its values could not be read here"
    if kind == "nodes":
        return f"the nodes pull from {name} by means the gate cannot replay (`nodes: registries`)"
    return f"credential provider {name} needs the pod's service-account token, which CI cannot mint"


def _not_runnable(use: ImageUse, config_type: str) -> Finding:
    """containerd's CRI and CRI-O check no config media type at pull: an artifact pulls (or,
    on containerd's local pull path, fails to unpack) and the container cannot be created."""
    return finding_for(
        "image-not-runnable",
        use,
        f"image {use.container.image} of container {use.container.name} is an OCI artifact "
        f"(its config is {config_type}), not a runnable image",
        "The pod would show CreateContainerError on containerd 2.1+ and CRI-O (nothing to "
        "run), or ErrImagePull on containerd's local pull path (`mismatched image rootfs and "
        "manifest layers`). Use a runnable image; to ship files such as models, mount the "
        "artifact as an image volume (`volumes[].image`).",
    )


def _tag_digest_findings(use: ImageUse) -> list[Finding]:
    """`name:tag@digest`: the pod runs the digest; say so when the tag now names another one."""
    resolution, ref = use.resolution, use.reference
    assert resolution is not None and ref is not None
    if resolution.tag_digest is None or resolution.tag_digest == ref.digest:
        return []
    if resolution.tag_digest == "":
        now = f"tag {ref.tag} no longer exists in {ref.familiar_name}"
    else:
        now = f"tag {ref.tag} now points to {resolution.tag_digest}"
    return [
        finding_for(
            "image-tag-digest-mismatch",
            use,
            f"image {use.container.image} is pinned to {ref.digest}, but {now}",
            "Nothing fails: the kubelet pulls the pinned digest, which is no longer what the tag "
            "names, so the tag misleads readers. To follow the tag, drop the digest and run "
            "`pullgate pin --write` again; if the digest is what you mean, drop the tag.",
        )
    ]


def _suggest(tags: tuple[str, ...]) -> str:
    return f" Existing tags that look alike: {', '.join(tags)}." if tags else ""
