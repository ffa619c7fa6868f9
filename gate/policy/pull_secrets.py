"""`pull-secret-invalid`: a pull secret the pod uses exists but the kubelet cannot read it."""

from __future__ import annotations

from collections.abc import Iterable

from gate.credentials.pods import Keychain
from gate.extract import PodSpec
from gate.model import Finding


def pull_secret_invalid_findings(pods: Iterable[PodSpec], keychain: Keychain) -> list[Finding]:
    """One finding per pod and unusable secret, at the pod's `imagePullSecrets` entry (or at its
    `serviceAccountName` when the secrets come from its service account)."""
    findings: list[Finding] = []
    for pod in pods:
        keyring = keychain.pod_keyring(pod)
        own_lines = dict(pod.image_pull_secrets)
        for problem in keyring.problems:
            obj = pod.object
            via = (
                f" (inherited from service account {keyring.inherited_from})"
                if keyring.inherited_from
                else ""
            )
            findings.append(
                Finding.about(
                    "pull-secret-invalid",
                    pod,
                    own_lines.get(problem.name) or pod.service_account_line or obj.line,
                    f"pull secret {problem.name}{via} cannot be used: {problem.reason}",
                    "The kubelet ignores it and pulls without credentials, so private images "
                    "fail with ImagePullBackOff. Recreate it with `kubectl create secret "
                    f"docker-registry {problem.name} --docker-server=... -n {obj.namespace}`.",
                )
            )
    return findings
