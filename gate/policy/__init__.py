"""Policy stage: turn what was extracted, inventoried and resolved into findings and a verdict.

One module per family of rules (`images`, `platforms`, `volumes`, `secrets`, `pull_secrets`,
`lock`, `manifests`), `suppress` for accepted findings, and `severities` for what every family
shares: severity overrides and sorting. The exit code is `gate.verdict`'s.
"""

from gate.policy.images import image_uses, resolution_findings, static_findings
from gate.policy.manifests import api_findings, document_findings
from gate.policy.secrets import secret_findings
from gate.policy.severities import apply_severities, sort_findings

__all__ = [
    "api_findings",
    "apply_severities",
    "document_findings",
    "image_uses",
    "resolution_findings",
    "secret_findings",
    "sort_findings",
    "static_findings",
]
