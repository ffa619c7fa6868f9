"""The configured provider plugins, run on demand as the kubelet's `pluginProvider` runs them.

Running a plugin (`execPlugin.ExecPlugin`): `DIR/<name> args...`, without a shell, with this
process's environment plus the provider's `env` (which wins), the `CredentialProviderRequest` JSON
on stdin, a `CredentialProviderResponse` of the same apiVersion expected on stdout. Unlike the
kubelet, the plugin runs in its own process group, killed as a whole on timeout (the kubelet kills
only the plugin, and then waits for any child still holding its stdout), and nothing it printed is
ever logged: the kubelet puts the plugin's stderr in its error, which may hold a secret.

Answers are cached as the kubelet caches them (`protocol.AnswerCache`). A failure is not cached
by the kubelet (the next pull runs the plugin again); the gate asks for the same image many times
in one run, so a failure is remembered for that image for the rest of the run: a broken plugin
runs once per image, not once per pod.

A provider with `tokenAttributes` (KEP-4412) is run by the kubelet with a service-account token of
the pod, which CI cannot mint: it is never run here (`ProviderSpec.needs_service_account_token`),
so that the caller can say what only it could pull cannot be verified.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence

from gate.credentials import Credential
from gate.credentials.keyring import key_matches
from gate.credentials.process import TimedOut, run_program
from gate.credentials.providers.config import ProviderSpec
from gate.credentials.providers.problems import os_reason
from gate.credentials.providers.protocol import (
    Answer,
    AnswerCache,
    PluginFailure,
    decode_answer,
    encode_request,
)

log = logging.getLogger(__name__)

PROVIDER_SOURCE_PREFIX = "provider:"

DEFAULT_TIMEOUT = 60.0
"""Seconds a plugin may take: the kubelet's catch-all exec timeout of one minute."""


def provider_source(name: str) -> str:
    return f"{PROVIDER_SOURCE_PREFIX}{name}"


def _image_allowed(spec: ProviderSpec, image_name: str) -> bool:
    """`isImageAllowed`: some matchImages pattern matches, by `URLsMatchStr` (patterns are
    parsed as written, without the `/v1/`-stripping of keyring keys)."""
    return any(key_matches(pattern, image_name) for pattern in spec.match_images)


class CredentialProviders:
    """The configured plugins, run on demand and cached as the kubelet caches their answers.

    `provide` never raises for a plugin's failure: the kubelet logs it and pulls without that
    provider's credentials, and so does the gate (one warning per provider and kind of failure).
    Not thread-safe: the gate looks credentials up from one thread.
    """

    def __init__(
        self,
        specs: Sequence[ProviderSpec],
        bin_dir: str,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._specs = tuple(specs)
        self._bin_dir = bin_dir
        self._environ = dict(os.environ if environ is None else environ)
        self._timeout = timeout
        self._cache = AnswerCache(clock)
        self._failed: dict[tuple[str, str], str] = {}
        """(provider, image) that failed in this run, and why: not run again (the kubelet
        would retry on the next pull; one gate run is one look)."""
        self._broken: dict[str, str] = {}
        """Providers that could not be run or timed out: not run again in this run, so that a
        hanging plugin costs one timeout, not one per image."""
        self._warned: set[tuple[str, str]] = set()
        self._runs: dict[str, int] = {spec.name: 0 for spec in self._specs}

    @property
    def specs(self) -> tuple[ProviderSpec, ...]:
        """The providers, in config order."""
        return self._specs

    @property
    def runs(self) -> dict[str, int]:
        """How many times each provider was executed."""
        return dict(self._runs)

    def __bool__(self) -> bool:
        return bool(self._specs)

    def matching(self, image_name: str) -> list[ProviderSpec]:
        """The providers whose matchImages match `domain/path`, in config order (the order the
        kubelet adds their answers to one keyring), token providers included."""
        return [spec for spec in self._specs if _image_allowed(spec, image_name)]

    def provide(self, spec: ProviderSpec, image_name: str) -> list[tuple[str, Credential]]:
        """(auth key as the plugin wrote it, `Credential(provider:<name>, username, password)`)
        in the response's order; [] on failure or for a token provider. Never raises for a
        plugin's failure.

        `image_name` is the repository the kubelet pulls, `domain/path` without tag or digest,
        and is what the plugin receives. An image the provider does not match gets [] without
        a run.
        """
        if spec.needs_service_account_token or not _image_allowed(spec, image_name):
            return []
        cached = self._cache.get(spec.name, image_name)
        if cached is not None:
            return list(cached)
        if (spec.name, image_name) in self._failed or spec.name in self._broken:
            return []
        try:
            answer = self._run(spec, image_name)
        except PluginFailure as failure:
            self._failed[(spec.name, image_name)] = failure.detail
            if failure.kind in ("run", "timeout"):
                self._broken[spec.name] = failure.detail
            self._report(spec, image_name, failure)
            return []
        source = provider_source(spec.name)
        logins = tuple(
            (key, Credential(source, username=username or None, password=password or None))
            for key, username, password in answer.auth
        )
        duration = (
            answer.cache_duration
            if answer.cache_duration is not None
            else spec.default_cache_duration
        )
        self._cache.put(spec.name, image_name, answer.cache_key_type, duration, logins)
        return list(logins)

    def failure(self, spec: ProviderSpec, image_name: str) -> str | None:
        """Why `spec` gave no answer for `image_name` in this run (never its output), or None
        when it answered (or was not asked)."""
        return self._failed.get((spec.name, image_name)) or self._broken.get(spec.name)

    def _environment(self, spec: ProviderSpec) -> dict[str, str]:
        env = dict(self._environ)
        env.update(spec.env)  # appended after the host's: the last one wins, as in Go's exec
        return env

    def _run(self, spec: ProviderSpec, image_name: str) -> Answer:
        """`ExecPlugin`: run the binary once and decode its answer; `PluginFailure` otherwise."""
        program = os.path.join(self._bin_dir, spec.name)
        request = encode_request(spec.api_version, image_name)
        self._runs[spec.name] = self._runs.get(spec.name, 0) + 1
        log.debug("running credential provider %s for %s", spec.name, image_name)
        try:
            finished = run_program(
                [program, *spec.args], request, self._environment(spec), self._timeout
            )  # stderr is never read: it may hold a secret
        except (OSError, ValueError) as exc:
            raise PluginFailure("run", f"it could not be run ({os_reason(exc)})") from None
        except TimedOut:
            raise PluginFailure(
                "timeout", f"it did not answer within {self._timeout:g} s"
            ) from None
        if finished.returncode < 0:
            raise PluginFailure("signal", f"it was killed by signal {-finished.returncode}")
        if finished.returncode > 0:
            raise PluginFailure("exit", f"it failed with exit status {finished.returncode}")
        return decode_answer(finished.stdout, spec.api_version)

    def _report(self, spec: ProviderSpec, image_name: str, failure: PluginFailure) -> None:
        """One warning per provider and kind of failure; later ones at debug level."""
        first = (spec.name, failure.kind) not in self._warned
        self._warned.add((spec.name, failure.kind))
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "credential provider %s gave no credentials for %s: %s; what only it could pull "
            "cannot be verified here (the plugin's output is not shown: it may hold secrets)",
            spec.name,
            image_name,
            failure.detail,
        )
