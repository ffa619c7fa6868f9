"""Document rules: what cannot even be parsed, or decoded by the API server."""

from __future__ import annotations

from collections.abc import Iterable

from gate.load import InvalidDocument
from gate.model import Finding
from gate.workload import PodSpec


def document_findings(invalid: Iterable[InvalidDocument]) -> list[Finding]:
    return [
        Finding.at(
            "manifest-invalid",
            doc.file,
            doc.line,
            f"cannot parse this document: {doc.message}",
            "`kubectl apply` would fail on it and apply nothing from the file. "
            "Fix the syntax at this line.",
        )
        for doc in invalid
    ]


def api_findings(pods: Iterable[PodSpec]) -> list[Finding]:
    """`manifest-invalid` where a pod spec field has a type the API server cannot decode.

    The API server decodes the object into its Go types before anything else (kubectl's
    client-side validation says the same): `cannot unmarshal number into Go struct field
    ... of type string`, and nothing of the object is created. The gate reads such a field
    as nothing rather than guess a name from it.
    """
    return [
        Finding.about(
            "manifest-invalid",
            pod,
            line,
            f"the API server cannot decode this {pod.object.kind}: {what}",
            "`kubectl apply` fails (`cannot unmarshal ... into Go struct field`) and the "
            "object is not created, so none of its pods run. Write the field with the type "
            "the API expects (quote a name that looks like a number).",
        )
        for pod in pods
        for what, line in pod.api_problems
    ]
