"""Resolve references to digests: once per (reference, credential), concurrently, cached.

What a digest holds is learnt once per run (`ContentReader`). On Docker Hub, where each
manifest GET counts against the pull rate limit and a HEAD does not, a tag is HEADed first and
its content fetched by digest only when not already known.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from gate import platform as platforms
from gate.credentials import ANONYMOUS, Credential
from gate.hosts import PULL, RESOLVE, Host
from gate.model import Outcome, Resolution
from gate.reference import Reference, is_docker_hub
from gate.registry.client import RegistryClient
from gate.registry.content import Content, ContentReader
from gate.registry.errors import (
    InsecureRefused,
    IntegrityError,
    ManifestUnknown,
    NameUnknown,
    RateLimited,
    RegistryError,
    Unauthorized,
    Unreachable,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""(done, total, reference just finished)."""


@dataclass(frozen=True)
class Request:
    """Resolve `reference`, trying `credentials` in order until one is not refused.

    `on_behalf_of` and `unreplayable` name what the kubelet would also offer that the gate
    cannot replay (see `Resolver.resolve`).
    """

    reference: Reference
    credentials: tuple[Credential, ...] = (ANONYMOUS,)
    on_behalf_of: tuple[str, ...] = ()
    unreplayable: tuple[str, ...] = ()


class Resolver:
    def __init__(
        self,
        client: RegistryClient,
        ci_logins: Callable[[str], Sequence[Credential]] | None = None,
        credentials_to_mirrors: bool = True,
        node_declared: Callable[[str], Sequence[str]] | None = None,
    ) -> None:
        """`ci_logins` looks up the CI machine's logins for `domain/path` (they only verify).
        `credentials_to_mirrors`: the pod's credentials go to mirrors too (containerd's CRI)
        rather than to the registry only (CRI-O). `node_declared` names the `nodes:
        registries` patterns that cover `host/path` (the nodes' own credentials for a
        mirror, which the runtime uses where the pod offers none)."""
        self.client = client
        self._credentials_to_mirrors = credentials_to_mirrors
        self._node_declared = node_declared
        self._ci_logins = ci_logins
        self._ci_lock = asyncio.Lock()
        self.contents = ContentReader(client)
        self._flights: dict[tuple[str, Credential, str], asyncio.Task[Resolution]] = {}

    async def resolve_all(
        self,
        requests: Sequence[Request],
        progress: Progress | None = None,
        deadline: float | None = None,
    ) -> list[Resolution]:
        """Resolve every request; identical (reference, credential) pairs are asked once.

        What is not resolved within `deadline` seconds is cancelled and could not be verified
        (`UNREACHABLE`, naming the deadline), so no registry can hold the run for long.
        """
        done = 0

        async def one(request: Request) -> Resolution:
            nonlocal done
            result = await self.resolve(
                request.reference,
                request.credentials,
                on_behalf_of=request.on_behalf_of,
                unreplayable=request.unreplayable,
            )
            done += 1
            if progress is not None:
                progress(done, len(requests), request.reference.familiar)
            return result

        tasks = [asyncio.ensure_future(one(r)) for r in requests]
        if not tasks:
            return []
        finished, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return [
            task.result()
            if task in finished
            else Resolution(
                request.reference,
                Outcome.UNREACHABLE,
                detail=f"not resolved within the run's {deadline:g} s deadline (--deadline)",
            )
            for task, request in zip(tasks, requests, strict=True)
        ]

    async def resolve(
        self,
        reference: Reference,
        credentials: Sequence[Credential] = (ANONYMOUS,),
        *,
        on_behalf_of: Sequence[str] = (),
        unreplayable: Sequence[str] = (),
    ) -> Resolution:
        """The pod's verdict: its own offer first; CI logins only verify, never stand in.

        - The offer pulls: resolved, with the credential that worked. A registry that let the
          pod look and answered "manifest unknown" settles it too (unless the look was only
          the anonymous fallback beside a credential the gate cannot replay).
        - It does not, and something the kubelet would offer cannot be replayed: a CI login
          that pulls verifies on behalf of a pull secret without readable values, a `nodes:`
          pattern or a provider that gave nothing here (resolved, `verified_with` naming the
          login); a provider that needs the pod's token cannot be verified at all. Nobody
          pulls: unverified, unless a login learnt that the tag does not exist.
        - Nothing unreplayable: the offer's failure stands; a CI login that pulls is only
          named (`pulled_by_ci_login`): the image exists, but the pod cannot have it.

        CI logins are looked up (their credential helpers run) only on these failure paths.
        """
        answer = await self._resolve_offer(reference, credentials)
        unknown = (*on_behalf_of, *unreplayable)
        fallback_only = tuple(credentials) in ((), (ANONYMOUS,)) and bool(on_behalf_of)
        settled = [
            Outcome.UNREACHABLE,
            Outcome.REFUSED,
            Outcome.INVALID_RESPONSE,
            Outcome.MANIFEST_INVALID,
            Outcome.NO_HOST,  # the nodes' own setup fails every pull: no credential helps
            Outcome.KEYRING_INVALID,
        ]
        if not fallback_only:
            settled.append(Outcome.MANIFEST_UNKNOWN)
        if answer.ok or answer.outcome in settled:
            return answer
        if answer.outcome is not Outcome.UNAUTHORIZED and not unknown:
            return answer
        verifiers = await self._ci_logins_for(reference.name)
        if not verifiers and not unknown:
            return answer
        tried = tuple(dict.fromkeys(c.source for c in verifiers))
        checks = [await self._resolve_offer(reference, (login,)) for login in verifiers]
        pulled = next((c for c in checks if c.ok), None)
        if pulled is not None and on_behalf_of:
            return replace(pulled, credential=on_behalf_of[0], verified_with=pulled.credential)
        if pulled is not None and not unknown:
            return replace(answer, pulled_by_ci_login=pulled.credential, ci_logins=tried)
        if pulled is None and unknown:
            # Only "manifest unknown" is the registry's word whoever asks; "name unknown" is
            # also how registries hide a repository from those who may not see it.
            definite = next((c for c in checks if c.outcome is Outcome.MANIFEST_UNKNOWN), None)
            if definite is not None:
                return replace(definite, verified_with=verifiers[checks.index(definite)].source)
        return Resolution(
            reference,
            Outcome.UNVERIFIED,
            detail=answer.detail,
            pulled_by_ci_login=pulled.credential if pulled is not None else None,
            ci_logins=tried,
        )

    async def _ci_logins_for(self, image_name: str) -> list[Credential]:
        """The CI machine's logins for `image_name`, looked up off the event loop (a
        credential helper may take seconds), one lookup at a time (its cache is not shared
        between threads)."""
        if self._ci_logins is None:
            return []
        async with self._ci_lock:
            return list(await asyncio.to_thread(self._ci_logins, image_name))

    async def _resolve_offer(
        self, reference: Reference, credentials: Sequence[Credential]
    ) -> Resolution:
        """Try each credential until one pulls, as the kubelet does (whatever the others got);
        each credential goes through the domain's hosts in order, as containerd's resolver
        goes (`core/remotes/docker/resolver.go`).

        When none pulls, the answer that decides the finding is: could not verify (a host or
        token service out of reach) before "not found" before every credential refused.
        """
        configured = self.client.options.hosts
        problem = configured.problem_for(reference.domain)
        if problem is not None:
            return Resolution(
                reference,
                Outcome.NO_HOST,
                detail=f"the nodes cannot set up the hosts of {reference.domain}: {problem}",
            )
        hosts = configured.hosts_for(reference.domain)
        needed = (PULL,) if reference.digest else (PULL, RESOLVE)
        usable = tuple(h for h in hosts if h.can(*needed))
        if not usable:
            sources = "; ".join(dict.fromkeys(h.source or h.name for h in hosts))
            return Resolution(
                reference,
                Outcome.NO_HOST,
                detail=f"no host configured for {reference.domain} may "
                f"{'pull' if reference.digest else 'resolve tags'} ({sources}); containerd "
                "fails such a pull with `no resolve hosts: not found`: give a host the "
                "capabilities pull and resolve, or drop `capabilities` to allow all",
            )
        mirrors = tuple(h for h in usable if h.is_mirror_for(reference.domain))
        failures: list[Resolution] = []
        if not self._credentials_to_mirrors and mirrors:
            # CRI-O (containers/image) drops the pod's credentials for a mirror of another
            # domain: mirrors are asked anonymously first, then the registry with each one.
            answer = await self._through(reference, ANONYMOUS, mirrors)
            if answer.ok:
                return answer
            failures.append(answer)
            usable = tuple(h for h in usable if h not in mirrors)
            if not usable:  # only mirrors: the pod's credentials reach none of them
                return _deciding(failures)
        for credential in credentials or (ANONYMOUS,):
            result = await self._through(reference, credential, usable)
            if result.ok:
                return result
            failures.append(result)
        return _deciding(failures)

    async def _through(
        self, reference: Reference, credential: Credential, hosts: Sequence[Host]
    ) -> Resolution:
        """`credential` offered to each host in turn until one serves the reference (as
        containerd's CRI offers the kubelet's one credential to every host: the kubelet sets
        no `ServerAddress`, so `ParseAuth` gives it to mirrors too)."""
        answers = []
        for host in hosts:
            answer = await self._resolve_once(reference, credential, host)
            if answer.ok or answer.outcome is Outcome.MANIFEST_INVALID:
                return answer
            answer = self._node_credentials_for_mirror(reference, credential, host, answer)
            if len(hosts) > 1:
                log.info("%s for %s: %s", host.name, reference.familiar, answer.detail)
            answers.append(answer)
        return _deciding(answers)

    def _node_credentials_for_mirror(
        self, reference: Reference, credential: Credential, host: Host, answer: Resolution
    ) -> Resolution:
        """A mirror that refused an anonymous pull may still serve the nodes: where the pod
        offers no credential, containerd's CRI offers the mirror its own configured one
        (`registry.configs.<host>.auth`, `PullImage`) and CRI-O the node's auth file entry
        for the mirror's domain. `nodes: registries` says the nodes hold one; the gate cannot
        replay it, so the mirror's answer is unverified, not a refusal."""
        if (
            answer.outcome is not Outcome.UNAUTHORIZED
            or not credential.anonymous
            or not host.is_mirror_for(reference.domain)
            or self._node_declared is None
        ):
            return answer
        declared = self._node_declared(f"{host.host}/{reference.path}")
        if not declared:
            return answer
        return replace(
            answer,
            outcome=Outcome.UNVERIFIED,
            detail=f"{answer.detail}; the nodes may pull from it with their own credentials "
            f"({', '.join(declared)}), which pullgate cannot replay",
        )

    async def _resolve_once(
        self, reference: Reference, credential: Credential, host: Host
    ) -> Resolution:
        key = (reference.canonical, credential, host.root)
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch(reference, credential, host))
            self._flights[key] = task
        return await asyncio.shield(task)

    async def _fetch(self, reference: Reference, credential: Credential, host: Host) -> Resolution:
        served = await self._served(reference, credential, host)
        if isinstance(served, Resolution):  # it did not: why, said for this host
            if not host.discover and not served.detail.startswith(host.name):
                served = replace(served, detail=f"{host.name}: {served.detail}")
            return served
        digest, content = served
        if host.discover:
            found = await self.client.endpoints.registry(reference.domain)
        else:
            found = await self.client.endpoints.host(host)  # the scheme it answered on
        endpoint = found.api_root if host.override_path else found.api_root.removesuffix("/v2")
        return Resolution(
            reference,
            Outcome.RESOLVED,
            digest=digest,
            media_type=content.media_type,
            platforms=platforms.strings(content.entries),
            entries=content.entries,
            credential=credential.source,
            tag_digest=await self._tag_digest(reference, credential, host),
            mirror=host.name if host.is_mirror_for(reference.domain) else None,
            endpoint=endpoint,
            artifact_config=content.artifact_config,
        )

    async def _served(
        self, reference: Reference, credential: Credential, host: Host
    ) -> Resolution | tuple[str, Content]:
        """What `host` serves for the reference, or the failed Resolution saying why not."""
        try:
            return await self._lookup(reference, credential, host)
        except NameUnknown as exc:
            return Resolution(reference, Outcome.NAME_UNKNOWN, detail=str(exc))
        except ManifestUnknown as exc:
            return await self._explain_missing(reference, credential, exc, host)
        except Unauthorized as exc:
            return Resolution(reference, Outcome.UNAUTHORIZED, detail=str(exc))
        except InsecureRefused as exc:
            return Resolution(reference, Outcome.REFUSED, detail=str(exc))
        except RateLimited as exc:
            return Resolution(reference, Outcome.UNREACHABLE, detail=str(exc), rate_limited=True)
        except Unreachable as exc:
            return Resolution(reference, Outcome.UNREACHABLE, detail=str(exc))
        except IntegrityError as exc:
            return Resolution(reference, Outcome.MANIFEST_INVALID, detail=str(exc))
        except RegistryError as exc:
            return Resolution(reference, Outcome.INVALID_RESPONSE, detail=str(exc))

    async def _tag_digest(
        self, reference: Reference, credential: Credential, host: Host
    ) -> str | None:
        """For `name:tag@digest`, where the tag points now (a HEAD: free of rate limits)."""
        if reference.tag is None or reference.digest is None:
            return None
        try:
            digest, _ = await self.client.head_manifest(
                reference, credential, target=reference.tag, host=host
            )
        except ManifestUnknown:
            return ""
        except RegistryError as exc:
            log.info("could not check tag %s of %s: %s", reference.tag, reference.name, exc)
            return None
        return digest

    async def _explain_missing(
        self,
        reference: Reference,
        credential: Credential,
        exc: ManifestUnknown,
        host: Host,
    ) -> Resolution:
        """Tell a missing tag from a missing repository, which distribution reports alike.

        The tag list answers NAME_UNKNOWN for a missing repository, and otherwise offers the
        existing tags closest to the one asked for (one request, only on this failure path).
        """
        if reference.digest is not None:
            return Resolution(reference, Outcome.MANIFEST_UNKNOWN, detail=str(exc))
        try:
            tags = await self.client.list_tags(reference, credential, host=host)
        except NameUnknown as missing:
            return Resolution(reference, Outcome.NAME_UNKNOWN, detail=str(missing))
        except RegistryError:
            tags = []
        wanted = reference.effective_tag or "latest"
        close = difflib.get_close_matches(wanted, tags, n=3, cutoff=0.6)
        return Resolution(
            reference, Outcome.MANIFEST_UNKNOWN, detail=str(exc), suggestions=tuple(close)
        )

    async def _lookup(
        self, reference: Reference, credential: Credential, host: Host
    ) -> tuple[str, Content]:
        client = self.client
        if is_docker_hub(reference.domain) and not reference.digest:
            digest, _ = await client.head_manifest(reference, credential, host=host)
            if digest and digest.startswith("sha256:"):
                return digest, await self.contents.by_digest(reference, credential, digest, host)
            manifest = await client.get_manifest(reference, credential, host=host)
        elif reference.digest is not None and self.contents.knows(reference.digest):
            # Known content, but existence and access are per repository and credential.
            await client.head_manifest(reference, credential, host=host)
            digest = reference.digest
            return digest, await self.contents.by_digest(reference, credential, digest, host)
        else:
            manifest = await client.get_manifest(reference, credential, host=host)
        return manifest.digest, await self.contents.of(reference, credential, manifest, host)


_UNVERIFIED = (
    Outcome.UNVERIFIED,
    Outcome.UNREACHABLE,
    Outcome.REFUSED,
    Outcome.INVALID_RESPONSE,
    Outcome.MANIFEST_INVALID,
)


def _deciding(failures: Sequence[Resolution]) -> Resolution:
    """Of failed answers (hosts in order, or credentials in order): could not verify first
    (an unasked host might have served it), then "not found", then refusals (joined)."""
    for outcome in _UNVERIFIED:
        unverified = [f for f in failures if f.outcome is outcome]
        if unverified:
            return unverified[0]
    refused = [f for f in failures if f.outcome is Outcome.UNAUTHORIZED]
    if len(refused) == len(failures):
        details = dict.fromkeys(r.detail for r in refused)
        return replace(refused[0], detail="; ".join(details))
    return next(f for f in failures if f.outcome is not Outcome.UNAUTHORIZED)
