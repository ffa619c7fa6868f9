"""`pull-secret-invalid`: a pull secret the pod uses exists but the kubelet cannot use it.

What it does to the pod decides the severity (`gate.credentials.dockerconfig.Effect`): a
secret of another type is skipped by the kubelet (a warning: the pull is judged without it);
one the API server refuses never exists; one whose data the kubelet's decoder rejects breaks
the pod's whole keyring (an error here, and one on each of the pod's images).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from gate.credentials.dockerconfig import Effect
from gate.credentials.pods import Keychain, PullSecretProblem
from gate.model import Finding
from gate.rules import Severity
from gate.workload import PodSpec


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
            finding = Finding.about(
                "pull-secret-invalid",
                pod,
                own_lines.get(problem.name) or pod.service_account_line or obj.line,
                f"pull secret {problem.name}{via} cannot be used: {problem.reason}",
                _consequence(problem) + " Recreate it with `kubectl create secret docker-registry "
                f"{problem.name} --docker-server=... -n {obj.namespace}`.",
            )
            if problem.effect is Effect.IGNORED:
                finding = replace(finding, severity=Severity.WARNING)
            findings.append(finding)
    return findings


def _consequence(problem: PullSecretProblem) -> str:
    if problem.effect is Effect.IGNORED:
        return (
            "The kubelet skips it and pulls as if it were not there, so it does nothing for "
            "this pod."
        )
    if problem.effect is Effect.BREAKS_KEYRING:
        return (
            "The kubelet cannot build the pod's keyring, so every image pull of the pod fails "
            "(ErrImagePull), public images included."
        )
    return (
        "The API server refuses such a Secret, so it is never created; the kubelet then pulls "
        "without it and private images fail with ImagePullBackOff."
    )
