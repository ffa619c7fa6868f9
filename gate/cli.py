"""Command line: parse options, wire the stages, print the report, exit with the contract's code.

Nothing here decides anything about images or secrets; it only connects `gate.pipeline` to the
terminal. Every option can also be set as `PULLGATE_<OPTION>` in the environment.
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from gate import __version__
from gate import platform as platforms
from gate.config import Config, ConfigError, ca_file_problem, find_config, load_config
from gate.extract import validate_namespace
from gate.load import STDIN, LoadError
from gate.model import CheckResult
from gate.pin import (
    LockError,
    PinError,
    pin_texts,
    plan_check,
    read_lock,
    read_manifest,
    unified_diff,
    write_files,
    write_lock,
)
from gate.pipeline import CheckAborted, CheckOptions, ClusterOptions, NodeOptions, run_check
from gate.policy.platforms import DEFAULT_PLATFORMS
from gate.reference import registry_key
from gate.registry.transport import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    TransportOptions,
    api_host,
)
from gate.report import FORMATS, RenderContext, render
from gate.report.github import write_step_summary
from gate.report.progress import ProgressLine
from gate.rules import RULES, Severity
from gate.verdict import EXIT_OK, EXIT_USAGE, EXIT_VIOLATIONS, Verdict

log = logging.getLogger("gate")


class _UsageError(click.UsageError):
    """A usage error that exits with the contract's code 2 (click's default is 2 as well)."""

    exit_code = EXIT_USAGE


def _env(name: str) -> str:
    return f"PULLGATE_{name}"


def _report_target(value: str) -> tuple[str, str]:
    fmt, sep, path = value.partition("=")
    if not sep or not path:
        raise _UsageError(f"--report wants FORMAT=PATH, got {value!r}")
    if fmt not in FORMATS:
        raise _UsageError(f"--report: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return fmt, path


class _Gate(click.Group):
    """The command group, with a last line of defence: an unexpected error (a bug) is one
    plain line and exit 2, never a traceback that CI would read as a verdict; -vv logs it."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            log.debug("internal error", exc_info=True)
            click.echo(
                f"pullgate: internal error: {type(exc).__name__}: {exc} (a bug in pullgate; "
                "run with -vv for the traceback and please report it)",
                err=True,
            )
            sys.exit(EXIT_USAGE)


@click.group(
    cls=_Gate,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="pullgate")
def main() -> None:
    """pullgate: prove, before a deploy, that every pod's images pull and its secrets exist."""


def _shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command that resolves images takes (`check` and `pin`)."""
    options = [
        click.argument("paths", nargs=-1, type=str, envvar=_env("PATHS")),
        click.option(
            "-n",
            "--namespace",
            default="default",
            show_default=True,
            envvar=_env("NAMESPACE"),
            help="Namespace of objects that do not name one.",
        ),
        click.option(
            "--insecure-registry",
            "insecure",
            multiple=True,
            metavar="HOST[:PORT]",
            envvar=_env("INSECURE_REGISTRY"),
            help="Allow plain HTTP and unverified TLS for this registry (repeatable).",
        ),
        click.option(
            "--ca-file",
            "ca_files",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            envvar=_env("CA_FILE"),
            help="Trust this PEM CA bundle too (repeatable).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=DEFAULT_TIMEOUT,
            show_default=True,
            envvar=_env("TIMEOUT"),
            help="Seconds to wait for a registry to answer one request.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0, max=10),
            default=DEFAULT_RETRIES,
            show_default=True,
            envvar=_env("RETRIES"),
            help="Retries on network trouble, 429 and 5xx, with exponential backoff.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            envvar=_env("CONFIG"),
            help="Config file (default: .pullgate.yaml found upward from the working directory).",
        ),
        click.option(
            "--no-progress",
            is_flag=True,
            envvar=_env("NO_PROGRESS"),
            help="No progress line on stderr (it is shown only on a terminal, outside CI).",
        ),
        click.option(
            "--node-docker-config",
            "node_docker_configs",
            multiple=True,
            type=click.Path(),
            envvar=_env("NODE_DOCKER_CONFIG"),
            help="A docker config the nodes hold, read as the kubelet reads it (auths only; "
            "repeatable).",
        ),
        click.option(
            "--image-credential-provider-config",
            "provider_config",
            type=click.Path(),
            envvar=_env("IMAGE_CREDENTIAL_PROVIDER_CONFIG"),
            help="The kubelet's CredentialProviderConfig (a file, or a directory of them): run "
            "its plugins as the kubelet does.",
        ),
        click.option(
            "--image-credential-provider-bin-dir",
            "provider_bin_dir",
            type=click.Path(file_okay=False),
            envvar=_env("IMAGE_CREDENTIAL_PROVIDER_BIN_DIR"),
            help="Where the credential provider plugins are (the kubelet's flag of that name).",
        ),
        click.option(
            "--docker-config",
            type=click.Path(),
            envvar=_env("DOCKER_CONFIG"),
            help="This machine's docker config (file or directory) instead of $DOCKER_CONFIG or "
            "~/.docker/config.json. CI logins only verify for credentials the gate cannot "
            "replay; they never stand in for the nodes.",
        ),
        click.option(
            "--no-ci-logins",
            "--no-node-credentials",
            "no_ci_logins",
            is_flag=True,
            envvar=[_env("NO_CI_LOGINS"), _env("NO_NODE_CREDENTIALS")],
            help="Do not read this machine's logins at all (--no-node-credentials is the "
            "older name).",
        ),
        click.option(
            "--cluster-state",
            "cluster_state",
            multiple=True,
            type=click.Path(),
            envvar=_env("CLUSTER_STATE"),
            help="What exists in the cluster: `kubectl get secrets,serviceaccounts -A -o json` "
            "output (repeatable).",
        ),
        click.option(
            "--cluster",
            "use_cluster",
            is_flag=True,
            envvar=_env("CLUSTER"),
            help="Ask the live cluster which Secrets and ServiceAccounts exist (metadata only).",
        ),
        click.option(
            "--kubeconfig",
            type=click.Path(),
            envvar=_env("KUBECONFIG"),
            help="With --cluster: this kubeconfig (default: $KUBECONFIG, ~/.kube/config, or "
            "in-cluster).",
        ),
        click.option(
            "--context", envvar=_env("CONTEXT"), help="With --cluster: this kubeconfig context."
        ),
        click.option(
            "--cluster-credentials",
            is_flag=True,
            envvar=_env("CLUSTER_CREDENTIALS"),
            help="With --cluster: also read the pull secrets pods use, to pull as the pod would.",
        ),
        click.option("-v", "--verbose", count=True, help="Log more on stderr (-vv for HTTP)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@_shared_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    envvar=_env("FORMAT"),
    help="Report printed on stdout (in GitHub Actions: github).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=PATH",
    envvar=_env("REPORT"),
    help="Also write a report in FORMAT to PATH (repeatable).",
)
@click.option(
    "--offline",
    is_flag=True,
    envvar=_env("OFFLINE"),
    help="Ask no registry: static rules only; images are reported as not resolved.",
)
@click.option(
    "--platform",
    "platform_names",
    multiple=True,
    metavar="OS/ARCH[/VARIANT]",
    envvar=_env("PLATFORM"),
    help="Platform of the nodes a pod without node selectors may land on (repeatable).",
)
@click.option(
    "--runtime",
    "runtime_name",
    metavar="RUNTIME",
    envvar=_env("RUNTIME"),
    help="The nodes' container runtime, whose rule decides which image platforms a node "
    "takes: containerd-2.1 (default: 2.1 and later), containerd-2.0, containerd-1.7, cri-o.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    envvar=_env("FAIL_ON"),
    help="Lowest severity that fails the gate.",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    envvar=_env("LOCK"),
    help="Fail images whose digest differs from this lock file (written by pin --lock).",
)
@click.option(
    "--color/--no-color",
    default=None,
    envvar=_env("COLOR"),
    help="Colour the text report (default: only on a terminal, and never with NO_COLOR).",
)
@click.option(
    "--show-suppressed",
    is_flag=True,
    envvar=_env("SHOW_SUPPRESSED"),
    help="List suppressed findings too (they are always counted).",
)
@click.pass_context
def check(ctx: click.Context, /, paths: tuple[str, ...], **params: Any) -> None:
    """Check rendered manifests: every image pulls, nothing refers to what is not there.

    PATHS are files, directories (searched for *.yaml, *.yml, *.json) or - for stdin.

    Exit codes: 0 passed; 1 findings at or above --fail-on; 2 usage or configuration error;
    3 nothing violated, but something could not be verified (a registry or the API server out
    of reach, or access to the API server denied).
    """
    _configure_logging(params["verbose"])
    if not paths:
        raise _UsageError("no manifests given: pass files, directories, or - for stdin")
    config = _load_config(params["config_path"])
    settings = _Settings(ctx, params, config)
    options = settings.check_options(paths)
    targets = [_report_target(value) for value in params["reports"]]
    progress = ProgressLine.for_terminal(sys.stderr, disabled=params["no_progress"])
    result = _run(options, progress)
    if result.objects == 0 and not result.findings:
        click.echo(
            "pullgate: warning: no Kubernetes objects found in "
            + " ".join(paths)
            + " (nothing was checked; did the render step write them?)",
            err=True,
        )
    fail_on = settings.fail_on
    verdict = Verdict.of(result.findings, fail_on)
    code = verdict.exit_code
    context = RenderContext(
        verdict=verdict,
        show_suppressed=params["show_suppressed"],
    )
    for target_fmt, target_path in targets:
        _write_report(target_path, render(target_fmt, result, context))
    fmt = settings.format
    if os.environ.get("GITHUB_STEP_SUMMARY") and "github" in {fmt, *(f for f, _ in targets)}:
        try:
            write_step_summary(result, context, os.environ["GITHUB_STEP_SUMMARY"])
        except OSError as exc:
            click.echo(f"pullgate: warning: cannot write the step summary: {exc}", err=True)
    color = params["color"] if params["color"] is not None else _color_default()
    stdout_context = replace(context, color=color and fmt == "text")
    click.echo(render(fmt, result, stdout_context), nl=False, color=stdout_context.color)
    sys.exit(code)


class _Settings:
    """Command line (and PULLGATE_* environment) over the config file over defaults."""

    def __init__(self, ctx: click.Context, params: dict[str, Any], config: Config) -> None:
        self.ctx = ctx
        self.params = params
        self.config = config

    def _given(self, name: str) -> bool:
        source = self.ctx.get_parameter_source(name)
        return source not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)

    @property
    def format(self) -> str:
        """`--format`; in a GitHub Actions job the default is GitHub's own annotations."""
        if not self._given("fmt") and os.environ.get("GITHUB_ACTIONS") == "true":
            return "github"
        return str(self.params["fmt"])

    @property
    def fail_on(self) -> Severity:
        if self._given("fail_on") or self.config.fail_on is None:
            return Severity(self.params["fail_on"])
        return self.config.fail_on

    def _nodes(self) -> NodeOptions:
        """What the nodes hold: each option wins over its config key; patterns only in config."""
        params, nodes = self.params, self.config.nodes
        docker_configs = params["node_docker_configs"] or nodes.docker_configs
        provider_config, bin_dir = params["provider_config"], params["provider_bin_dir"]
        if provider_config is None and bin_dir is None:
            provider_config, bin_dir = nodes.provider_config, nodes.provider_bin_dir
        return NodeOptions(tuple(docker_configs), provider_config, bin_dir, nodes.registries)

    def check_options(self, paths: tuple[str, ...]) -> CheckOptions:
        params, config = self.params, self.config
        namespace = params["namespace"]
        if not self._given("namespace") and config.namespace:
            namespace = config.namespace
        try:
            validate_namespace(namespace)
        except ValueError as exc:
            raise _UsageError(f"--namespace: {exc}") from None
        lock = None
        if params.get("lock_path"):
            try:
                lock = read_lock(params["lock_path"])
            except LockError as exc:
                _fail_usage(str(exc))
        try:
            node_platforms = tuple(platforms.parse(n) for n in params.get("platform_names", ()))
        except ValueError as exc:
            raise _UsageError(f"--platform: {exc}") from None
        runtime = (
            platforms.parse_runtime(config.runtime) if config.runtime else platforms.DEFAULT_RUNTIME
        )
        if params.get("runtime_name"):
            try:
                runtime = platforms.parse_runtime(params["runtime_name"])
            except ValueError as exc:
                raise _UsageError(f"--runtime: {exc}") from None
        offline = params.get("offline", False)
        use_cluster = params["use_cluster"]
        if (params["cluster_credentials"] or params["context"]) and not use_cluster:
            raise _UsageError("--cluster-credentials and --context need --cluster")
        if use_cluster and offline:
            raise _UsageError("--cluster asks the API server; it cannot be combined with --offline")
        # Settings name registries as images do; the transport keys them by the host it talks
        # to (Docker Hub's API lives at registry-1.docker.io), the resolver by image domain.
        mirrors = {
            registry_key(host): entry.mirrors
            for host, entry in config.registries.items()
            if entry.mirrors
        }
        registry_cas = {
            api_host(registry_key(host)): entry.ca_file
            for host, entry in config.registries.items()
            if entry.ca_file
        }
        hosts = (*params["insecure"], *config.insecure_registries)
        for host in hosts:
            if "://" in host or "/" in host:
                raise _UsageError(f"--insecure-registry {host!r}: write HOST[:PORT], no scheme")
        insecure = {api_host(registry_key(host)) for host in hosts}
        for ca_file in params["ca_files"]:
            problem = ca_file_problem(ca_file)
            if problem:
                raise _UsageError(f"--ca-file: {problem}")
        try:
            backoff = float(os.environ.get("PULLGATE_BACKOFF", DEFAULT_BACKOFF))
        except ValueError:
            raise _UsageError("PULLGATE_BACKOFF must be a number of seconds") from None
        return CheckOptions(
            paths=paths,
            namespace=namespace,
            offline=offline,
            lock=lock,
            image_paths=config.images,
            external_secrets=config.external_secrets,
            cluster_state=params["cluster_state"],
            cluster=ClusterOptions(
                params["kubeconfig"], params["context"], params["cluster_credentials"]
            )
            if use_cluster
            else None,
            docker_config=params["docker_config"],
            ci_logins=not params["no_ci_logins"],
            nodes=self._nodes(),
            platforms=node_platforms or config.platforms or DEFAULT_PLATFORMS,
            runtime=runtime,
            severity=config.severity,
            ignores=config.ignore,
            transport=TransportOptions(
                insecure_registries=frozenset(insecure),
                ca_files=params["ca_files"],
                registry_ca_files=registry_cas,
                mirrors=mirrors,
                timeout=params["timeout"],
                retries=params["retries"],
                backoff=backoff,
            ),
        )


def _run(options: CheckOptions, progress: ProgressLine) -> CheckResult:
    """Run the check; a setup problem is a plain message and its exit code, never a traceback."""
    try:
        return run_check(options, progress=progress)
    except LoadError as exc:
        _fail_usage(str(exc))
    except CheckAborted as exc:
        progress.close()
        click.echo(f"pullgate: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    finally:
        progress.close()


def _load_config(path: str | None) -> Config:
    if path is not None:
        if not Path(path).is_file():
            _fail_usage(f"--config {path}: no such file")
        found: Path | None = Path(path)
    else:
        found = find_config()
    if found is None:
        return Config()
    try:
        config = load_config(found)
    except ConfigError as exc:
        _fail_usage(str(exc))
    log.info("using config %s", found)
    return config


@main.command()
@_shared_options
@click.option(
    "--write",
    is_flag=True,
    envvar=_env("WRITE"),
    help="Edit the files in place (atomically; nothing is written unless every image resolved).",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    envvar=_env("LOCK"),
    help="Also write what every image resolved to into this lock file.",
)
@click.pass_context
def pin(ctx: click.Context, /, paths: tuple[str, ...], **params: Any) -> None:
    """Pin every container image to the digest it resolves to: name:tag@sha256:...

    Without --write, print what would change as a unified diff. With -, read one stream from
    stdin and write it, pinned, to stdout. Nothing is written unless every image resolved.
    Exit codes as for check: 0 pinned; 1 an image or document blocks the pin; 2 usage error;
    3 a registry could not be reached.
    """
    _configure_logging(params["verbose"])
    if not paths:
        raise _UsageError("no manifests given: pass files, directories, or - for stdin")
    if STDIN in paths and len(paths) > 1:
        raise _UsageError("- (stdin) cannot be mixed with other paths")
    if STDIN in paths and params["write"]:
        raise _UsageError("--write edits files; with - the pinned stream goes to stdout")
    stdin_text: str | None = None
    if STDIN in paths:
        try:  # bytes, so that CRLF and a missing final newline survive
            stdin_text = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            _fail_usage(f"stdin: not UTF-8 text: {exc.reason}")
    config = _load_config(params["config_path"])
    lock_path = params.pop("lock_path")
    options = _Settings(ctx, params, config).check_options(paths)
    if stdin_text is not None:
        options = replace(options, stdin=io.StringIO(stdin_text))
    progress = ProgressLine.for_terminal(sys.stderr, disabled=params["no_progress"])
    result = _run(options, progress)
    plan = plan_check(result)
    if not plan.complete:
        for problem in plan.problems:
            click.echo(f"pullgate: {problem}", err=True)
        click.echo("pullgate: nothing pinned: every image must resolve first", err=True)
        sys.exit(plan.exit_code)
    try:
        texts = {f: stdin_text if f == STDIN else read_manifest(f) for f in plan.files}
        changed = pin_texts(plan, {f: t for f, t in texts.items() if t is not None})
    except PinError as exc:
        click.echo(f"pullgate: error: {exc}", err=True)
        sys.exit(EXIT_VIOLATIONS)
    except OSError as exc:
        _fail_usage(f"cannot read {exc.filename}: {exc.strerror or exc}")
    try:
        if params["write"]:
            write_files(changed)
        if lock_path:
            write_lock(lock_path, plan.lock)
    except OSError as exc:
        _fail_usage(f"cannot write {exc.filename}: {exc.strerror or exc}")
    stdout = sys.stdout.buffer  # bytes: CRLF in a manifest stays CRLF
    if stdin_text is not None:
        stdout.write(changed.get(STDIN, stdin_text).encode("utf-8"))
    elif params["write"]:
        click.echo(
            f"pullgate: pinned {len(plan.edits)} image(s) in {len(changed)} file(s)", err=True
        )
    else:
        diff = "".join(unified_diff(f, texts[f] or "", new) for f, new in changed.items())
        stdout.write(diff.encode("utf-8"))
    stdout.flush()
    sys.exit(EXIT_OK)


@main.command()
@click.argument("rule_id", required=False)
def explain(rule_id: str | None) -> None:
    """Explain a rule: what it means, what the pod would have shown, how to fix it.

    Without RULE_ID, list every rule.
    """
    if rule_id is None:
        width = max(len(r) for r in RULES)
        for rule in RULES.values():
            click.echo(f"{rule.id:<{width}}  {rule.severity.value:<7}  {rule.title}")
        return
    if rule_id not in RULES:
        close = difflib.get_close_matches(rule_id, list(RULES), n=3)
        suggestion = f" (did you mean {', '.join(close)}?)" if close else ""
        _fail_usage(f"unknown rule {rule_id!r}{suggestion}; `pullgate explain` lists them")
    rule = RULES[rule_id]
    click.echo(f"{rule.id} ({rule.severity.value} by default)\n")
    click.echo(f"What:      {rule.title}")
    click.echo(f"The pod:   {rule.symptom}")
    click.echo(f"Fix:       {rule.fix}")
    click.echo(
        f'Accept it: annotate the object with pullgate.io/ignore-{rule.id}: "<reason>", or '
        "add an `ignore:` entry to .pullgate.yaml."
    )


def _write_report(path: str, text: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail_usage(f"cannot write report {path}: {exc.strerror or exc}")


def _fail_usage(message: str) -> NoReturn:
    click.echo(f"pullgate: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _color_default() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is logged (click swaps it in tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("pullgate: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER = _StderrHandler()


def _configure_logging(verbose: int) -> None:
    """Our loggers, and httpx's one line per request at -vv, to stderr.

    Lower layers stay at WARNING whatever the verbosity: hpack logs header blocks (Huffman-coded,
    not redacted) and httpcore raw headers, so credentials never reach the log.
    """
    levels = {
        "gate": logging.WARNING - 10 * min(verbose, 2),
        "httpx": logging.INFO if verbose >= 2 else logging.WARNING,
    }
    for name, level in levels.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if _HANDLER not in logger.handlers:
            logger.addHandler(_HANDLER)
    for wire_level in ("httpcore", "hpack", "h2"):
        logging.getLogger(wire_level).setLevel(logging.WARNING)
