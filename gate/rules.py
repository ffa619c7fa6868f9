"""The rule catalogue: every finding pullgate can report, what it means and how to fix it.

One table serves the policy stage (default severities), `pullgate explain`, the README and the
machine formats (SARIF rule metadata), so the wording never drifts between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    OFF = "off"

    @property
    def rank(self) -> int:
        return {"off": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    """One line: what is wrong."""
    symptom: str
    """What the pod would have shown had it been deployed."""
    fix: str
    """What to do about it."""


_RULES = [
    Rule(
        "image-latest-tag",
        Severity.ERROR,
        "The image uses the tag `latest`.",
        "Nothing fails at once; `latest` is just a name that moves, so two nodes (or two "
        "restarts) can run different code, and a rollback cannot go back.",
        "Use a version tag, or pin the digest with `pullgate pin`.",
    ),
    Rule(
        "image-no-tag",
        Severity.ERROR,
        "The image has neither a tag nor a digest, so it means `:latest`.",
        "Same as `latest`: the kubelet pulls whatever `latest` points to at that moment.",
        "Add a version tag, or pin the digest with `pullgate pin`.",
    ),
    Rule(
        "image-tag-not-found",
        Severity.ERROR,
        "The registry has no manifest for this tag.",
        "ErrImagePull, then ImagePullBackOff: `manifest unknown` / `not found`.",
        "Push the tag, or correct it in the manifest (check the CI job that builds the image).",
    ),
    Rule(
        "image-repository-not-found",
        Severity.ERROR,
        "The registry has no such repository.",
        "ErrImagePull, then ImagePullBackOff: `repository name not known to registry`.",
        "Correct the repository name or the registry host, or push the image there.",
    ),
    Rule(
        "image-digest-not-found",
        Severity.ERROR,
        "The registry does not hold the pinned digest.",
        "ErrImagePull, then ImagePullBackOff: `not found` (the digest was never pushed here or "
        "was garbage-collected).",
        "Pin a digest that exists (`pullgate pin` resolves the tag again).",
    ),
    Rule(
        "image-pull-unauthorized",
        Severity.ERROR,
        "The registry refused every credential the kubelet would try.",
        "ErrImagePull, then ImagePullBackOff: `unauthorized: authentication required` or `denied`.",
        "Three kinds of credential are in play. The pod's: its imagePullSecrets, or its "
        "service account's. The node's: its docker config, its credential provider plugins, or "
        "access it has by other means. The CI job's own logins (GITHUB_TOKEN, CI_REGISTRY_*, "
        "docker login): no node has them, so they only verify on behalf of a credential the "
        "gate cannot replay and never stand in for the pod. Fix one: give the pod an "
        "imagePullSecret with access to this repository; declare the nodes' access (config "
        "`nodes: registries`); or give the gate the node's docker config "
        "(`--node-docker-config`) or credential providers "
        "(`--image-credential-provider-config`). Or make the repository public.",
    ),
    Rule(
        "image-platform-missing",
        Severity.ERROR,
        "The image offers no manifest for a platform the pod may run on.",
        "ErrImagePull: `no match for platform in manifest: not found`, or an `exec format "
        "error` crash loop.",
        "Build and push the image for that platform, or constrain the pod with a nodeSelector.",
    ),
    Rule(
        "image-platform-unverified",
        Severity.ERROR,
        "The platform of the manifest a node would take could not be read, so whether the "
        "image runs there is unknown.",
        "Unknown: the pod runs if the manifest's platform suits the node; otherwise "
        "ErrImagePull or an `exec format error` crash loop.",
        "Give the image a config that names its platform (or each index entry a `platform`) "
        "and keep the config under 4 MiB. Exit code 3: could not verify, not a violation.",
    ),
    Rule(
        "image-registry-unreachable",
        Severity.ERROR,
        "The registry could not be reached, so the image could not be verified.",
        "ErrImagePull: `dial tcp …`, `context deadline exceeded` or a TLS error, if the nodes "
        "cannot reach it either.",
        "Check the registry host, network, proxy and TLS settings (`--ca-file`, "
        "`--insecure-registry`); retry the job if it was an outage (exit code 3).",
    ),
    Rule(
        "image-manifest-invalid",
        Severity.ERROR,
        "What the registry served for the image fails integrity: its bytes do not hash to "
        "their digest, or it is no image manifest or index.",
        "ErrImagePull: containerd verifies every digest and refuses such content (`unexpected "
        "commit digest`, `failed to unmarshal`), if the nodes are served the same.",
        "Something between the registry and this job (a proxy, a cache, a broken mirror) or "
        "the registry itself altered the content: check with `crane manifest` or `skopeo "
        "inspect --raw`, clear the cache or fix the mirror, and push the image again if the "
        "registry holds it damaged. Not a network hint: retrying will not help.",
    ),
    Rule(
        "image-pull-unverified",
        Severity.ERROR,
        "The pull depends on a credential the gate cannot replay, and no CI login verified it.",
        "Unknown: the pod pulls if that credential (a pull secret whose values are not "
        "readable here, a registry the nodes reach by their own means, a provider that needs "
        "the pod's service-account token) has access; otherwise ErrImagePull, then "
        "ImagePullBackOff.",
        "Let the gate read the secret's values (a cluster-state file with data, "
        "`--cluster-credentials`), or give the CI job a login that may pull the image (it "
        "verifies on the credential's behalf). Exit code 3: could not verify, not a violation.",
    ),
    Rule(
        "image-not-runnable",
        Severity.ERROR,
        "A container's image is an OCI artifact: its config is not an image config, so there "
        "is nothing to run.",
        "containerd 2.1+ (transfer service) and CRI-O pull it, then fail the container: "
        "CreateContainerError (`no command specified`, or the image not found in the image "
        "store); containerd's local pull path fails the pull (ErrImagePull: `mismatched image "
        "rootfs and manifest layers`).",
        "Use a runnable image for the container; to ship files such as models, mount the "
        "artifact as an image volume (`volumes[].image`) on a runtime that supports artifacts.",
    ),
    Rule(
        "image-volume-unsupported",
        Severity.ERROR,
        "The nodes' container runtime cannot mount this image volume as the pod expects.",
        "containerd 1.7 and 2.0 have no image volumes: CreateContainerError (`failed to mkdir "
        '""`). containerd 2.1+ mounts an OCI artifact as an empty directory: the pod starts '
        "without the files.",
        "Run the pod on containerd 2.1+ (images) or CRI-O 1.33+ (images and artifacts), and say "
        "so with --runtime; or push the files as a runnable image.",
    ),
    Rule(
        "image-reference-invalid",
        Severity.ERROR,
        "The image is not a valid reference.",
        "InvalidImageName: `couldn't parse image reference`.",
        "Write `registry/repository:tag` in lower case; render templates before checking.",
    ),
    Rule(
        "pull-secret-missing",
        Severity.ERROR,
        "An imagePullSecrets entry names a secret that does not exist in the pod's namespace.",
        "The kubelet logs `Unable to retrieve some image pull secrets` and pulls without it: "
        "ImagePullBackOff on private images.",
        "Create the secret in the pod's namespace (secrets are namespace-scoped), or fix the name.",
    ),
    Rule(
        "pull-secret-invalid",
        Severity.ERROR,
        "A pull secret has the wrong type or data that cannot be decoded.",
        "Depends on what is wrong. Another type (`Opaque`): the kubelet ignores it and pulls "
        "without it (a warning). Data the API server refuses (no `.dockerconfigjson` key, not a "
        "JSON object): the Secret is never created. A field of the wrong JSON type or an `auth` "
        "that is not base64 of `user:password`: the kubelet cannot build the pod's keyring and "
        "every image pull of the pod fails (ErrImagePull), public images included.",
        "Recreate it with `kubectl create secret docker-registry`.",
    ),
    Rule(
        "secret-ref-missing",
        Severity.ERROR,
        "The pod refers to a secret that does not exist in its namespace.",
        'CreateContainerConfigError: `secret "…" not found`, or a volume that never mounts.',
        "Create the secret in the pod's namespace, fix the name, or mark the reference "
        "`optional: true`.",
    ),
    Rule(
        "service-account-missing",
        Severity.ERROR,
        "The pod's service account does not exist in its namespace.",
        'The pod is rejected at admission: `serviceaccount "…" not found`.',
        "Create the ServiceAccount in the pod's namespace, or fix `serviceAccountName`.",
    ),
    Rule(
        "secret-not-mountable",
        Severity.ERROR,
        "The pod uses a secret its service account does not list, and the account enforces "
        "mountable secrets (`kubernetes.io/enforce-mountable-secrets`).",
        "The pod is rejected at admission: `… is not allowed because service account … does "
        "not reference that secret` (or `imagePullSecret`); a controller reports FailedCreate.",
        "List the secret in the account's `secrets` (secret volumes, env, envFrom) or "
        "`imagePullSecrets` (pull secrets), run the pod as another account, or drop the "
        "annotation.",
    ),
    Rule(
        "image-pull-policy-never",
        Severity.WARNING,
        "`imagePullPolicy: Never` runs only on nodes that already have the image.",
        "ErrImageNeverPull on every node without a pre-loaded copy.",
        "Use `IfNotPresent` (or `Always`), unless the image is pre-loaded on every node.",
    ),
    Rule(
        "image-tag-digest-mismatch",
        Severity.WARNING,
        "The tag now points to another digest than the one pinned beside it.",
        "Nothing fails: the pod runs the pinned digest, which is no longer what the tag names.",
        "To follow the tag, drop the digest and run `pullgate pin --write` again; if the digest "
        "is what you mean, drop the tag.",
    ),
    Rule(
        "docker-hub-rate-limit",
        Severity.WARNING,
        "The pulls this change would make from Docker Hub exceed the pull budget left (as this "
        "runner sees it), or Docker Hub answered that the budget is spent.",
        "ImagePullBackOff with `429 Too Many Requests: toomanyrequests: You have reached your "
        "pull rate limit` on the pods pulled after the budget runs out: nodes behind one NAT "
        "address share the anonymous budget, pods pulling with one login share its account's.",
        "Give the pods a Docker Hub login with a higher limit (an imagePullSecret), pull "
        "through a mirror or pull-through cache, copy the images to your own registry, or "
        "spread the rollout over time. Tell pullgate the node count (`--nodes N`, config "
        "`nodes: {count: N}`) so DaemonSets count one pull per node.",
    ),
    Rule(
        "image-lock-mismatch",
        Severity.ERROR,
        "The image resolves to another digest than the lock file records.",
        "The deploy would run something other than what was verified.",
        "Re-run `pullgate pin --lock` after reviewing the change, or restore the tag.",
    ),
    Rule(
        "manifest-invalid",
        Severity.ERROR,
        "A document cannot be parsed.",
        "`kubectl apply` fails with a parse error; nothing in the file is applied.",
        "Fix the YAML or JSON syntax at the line shown.",
    ),
    Rule(
        "ignore-annotation-invalid",
        Severity.ERROR,
        "An ignore annotation names no known rule or gives no reason (empty, a placeholder as "
        "the hints print it, or a value that is not a string), so it is not honoured.",
        "None: this is about pullgate's own configuration, but the finding it meant to accept "
        "still counts.",
        "Write the rule id exactly and why the finding is accepted: "
        '`pullgate.io/ignore-<rule>: "<reason>"`.',
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
