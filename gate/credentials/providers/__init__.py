"""The kubelet's image credential provider plugins, run by the exec protocol as the kubelet does.

A node started with `--image-credential-provider-config FILE` and
`--image-credential-provider-bin-dir DIR` asks a plugin (`DIR/<name>`, such as
`ecr-credential-provider`) for a login before every pull whose image matches the plugin's
`matchImages`. Replaying that in CI is the only way to prove such a pull: this package follows
`pkg/credentialprovider/plugin/` of kubernetes/kubernetes (`plugin.go` at 01302639f593,
`config.go` and the internal API types at fde22c3f9aac, `plugins.go`).

Its modules, from the bottom up: `decoding` (strict JSON and YAML, Go durations), `problems`
(every problem of a config, worded without secrets), `entries` (a config document decoded into
provider entries), `validation` (the kubelet's checks of those entries), `protocol` (the request,
the answer and its cache), `config` (the config file and bin dir, read into `ProviderSpec`s), and
`runner` (`CredentialProviders`, which runs the plugins).
"""

from __future__ import annotations

from gate.credentials.providers.config import (
    ProviderConfigError,
    ProviderSpec,
    load_provider_config,
)
from gate.credentials.providers.decoding import parse_go_duration
from gate.credentials.providers.runner import (
    DEFAULT_TIMEOUT,
    PROVIDER_SOURCE_PREFIX,
    CredentialProviders,
    provider_source,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "PROVIDER_SOURCE_PREFIX",
    "CredentialProviders",
    "ProviderConfigError",
    "ProviderSpec",
    "load_provider_config",
    "parse_go_duration",
    "provider_source",
]
