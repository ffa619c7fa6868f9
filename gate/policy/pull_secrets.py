"""`pull-secret-invalid`: a pull secret the pod uses exists but the kubelet cannot read it."""

from __future__ import annotations

from collections.abc import Iterable

from gate.credentials.pods import Keychain
from gate.extract import PodSpec
from gate.model import Finding
from gate.rules import RULES


def pull_secret_invalid_findings(pods: Iterable[PodSpec], keychain: Keychain) -> list[Finding]:
    """One finding per pod and unusable secret, at the pod's `imagePullSecrets` entry (or at its
    `serviceAccountName` when the secrets come from its service account)."""
    rule = RULES["pull-secret-invalid"]
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
                Finding(
                    rule=rule.id,
                    severity=rule.severity,
                    message=f"pull secret {problem.name}{via} cannot be used: {problem.reason}",
                    hint="The kubelet ignores it and pulls without credentials, so private "
                    "images fail with ImagePullBackOff. Recreate it with `kubectl create secret "
                    "docker-registry "
                    + problem.name
                    + " --docker-server=... -n "
                    + obj.namespace
                    + "`.",
                    file=obj.file,
                    line=own_lines.get(problem.name) or pod.service_account_line or obj.line,
                    kind=obj.kind,
                    namespace=obj.namespace,
                    name=obj.name,
                    source=obj.source,
                )
            )
    return findings
