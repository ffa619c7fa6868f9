"""Policy stage: turn what was extracted, inventoried and resolved into findings and a verdict.

One module per family of rules (`images`, `platforms`, `volumes`, `secrets`, `pull_secrets`,
`lock`, `manifests`), `suppress` for accepted findings, and `verdict` for what every family
shares: severities, sorting and the exit code.
"""

from gate.policy.images import image_uses, resolution_findings, static_findings
from gate.policy.manifests import api_findings, document_findings
from gate.policy.secrets import secret_findings
from gate.policy.verdict import (
    EXIT_OK,
    EXIT_UNVERIFIED,
    EXIT_USAGE,
    EXIT_VIOLATIONS,
    UNVERIFIED_RULES,
    apply_severities,
    exit_code,
    sort_findings,
)

__all__ = [
    "EXIT_OK",
    "EXIT_UNVERIFIED",
    "EXIT_USAGE",
    "EXIT_VIOLATIONS",
    "UNVERIFIED_RULES",
    "api_findings",
    "apply_severities",
    "document_findings",
    "exit_code",
    "image_uses",
    "resolution_findings",
    "secret_findings",
    "sort_findings",
    "static_findings",
]
