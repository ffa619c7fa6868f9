"""Docker Hub's pull budget: the header parser, the store, and how many pulls a change makes.

Header forms from Docker's documentation page "Docker Hub pull usage and limits"
(https://docs.docker.com/docker-hub/usage/pulls/): `ratelimit-limit: 100;w=21600`,
`ratelimit-remaining: 76;w=21600`, `docker-ratelimit-source: 192.0.2.1`; a spent budget is a
429 with the error code `TOOMANYREQUESTS`. The registry side is tested for real in
tests/registry/test_rate_limit.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gate.extract import extract
from gate.load import load_text
from gate.model import ImageUse, Outcome, Resolution
from gate.policy import image_uses
from gate.policy.ratelimit import pods_of, rate_limit_findings, shares
from gate.registry.ratelimit import (
    Budget,
    RateBudgets,
    duration,
    parse_budget,
    spent_budget,
    spent_message,
)
from gate.workload import PodSpec

HUB = "registry-1.docker.io"


# -- the headers ---------------------------------------------------------------------------


def test_docker_hubs_headers_parse() -> None:
    budget = parse_budget(
        {
            "ratelimit-limit": "100;w=21600",
            "ratelimit-remaining": "76;w=21600",
            "docker-ratelimit-source": "192.0.2.1",
        }
    )
    assert budget == Budget(limit=100, remaining=76, window=21600, counted_as="192.0.2.1")
    assert budget.left == 76 and budget.resets_in() == 21600


def test_header_names_and_spacing_are_not_fussy() -> None:
    budget = parse_budget({"RateLimit-Remaining": " 5 ; W = 3600 ", "RateLimit-Limit": "200"})
    assert budget == Budget(limit=200, remaining=5, window=3600)
    # a list of policies: the first is read
    assert parse_budget({"ratelimit-remaining": "7;w=60, 9;w=3600"}) == Budget(
        remaining=7, window=60
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"ratelimit-limit": "lots", "ratelimit-remaining": "-3;w=21600"},
        {"ratelimit-remaining": ""},
        {"ratelimit-remaining": "200=21600"},
        {"ratelimit-remaining": "1e3"},
        {"ratelimit-remaining": "9" * 40},
        {"ratelimit-remaining": "\x00\xff"},
        {"docker-ratelimit-source": "192.0.2.1"},  # who, but no budget
    ],
)
def test_junk_is_no_budget(headers: dict[str, str]) -> None:
    assert parse_budget(headers) is None


def test_a_junk_window_or_reset_is_dropped_not_the_count() -> None:
    budget = parse_budget({"ratelimit-remaining": "4;w=soon;w=-1", "Retry-After": "tomorrow"})
    assert budget == Budget(remaining=4)
    assert budget.resets_in() is None


def test_a_429_from_docker_hub_is_a_spent_budget() -> None:
    body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your limit"}]}'
    spent = spent_budget(429, HUB, {"ratelimit-limit": "100;w=21600"}, body)
    assert spent is not None and spent.spent and spent.left == 0
    assert spent.limit == 100 and spent.window == 21600
    assert spent_message("anonymous", spent) == (
        "Docker Hub's pull rate limit is spent for anonymous pulls from this address: "
        "TOOMANYREQUESTS: You have reached your limit; the window is rolling: pulls come "
        "back within 6 h"
    )
    # a HEAD has no body: spent when its headers say nothing is left
    spent_head = {"Retry-After": "1800", "ratelimit-remaining": "0;w=21600"}
    with_retry = spent_budget(429, HUB, spent_head, b"")
    assert with_retry is not None and with_retry.resets_in() == 1800
    assert spent_message("secret:shop/hub", with_retry) == (
        "Docker Hub's pull rate limit is spent for login secret:shop/hub: 429 Too Many "
        "Requests; the window resets in about 30 min"
    )


def test_other_429s_are_not_docker_hubs_limit() -> None:
    # Docker Hub's abuse limit: plain text and a minute's Retry-After, retried as any 429
    # (docker/hub-feedback#1907); a HEAD 429 that says nothing of the budget, likewise
    assert spent_budget(429, HUB, {"Retry-After": "60"}, b"Too Many Requests (HAP429).") is None
    assert spent_budget(429, HUB, {"Retry-After": "60"}, b"") is None
    body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
    assert spent_budget(429, "registry.example.com", {"Retry-After": "3600"}, body) is None
    other = b'{"errors":[{"code":"DENIED","message":"no"}]}'
    assert spent_budget(429, HUB, {}, other) is None
    assert spent_budget(200, HUB, {"ratelimit-remaining": "0"}, b"") is None
    # a mirror passing Docker Hub's headers on speaks for Docker Hub
    passed_on = {"ratelimit-remaining": "0;w=60", "docker-ratelimit-source": "192.0.2.1"}
    assert spent_budget(429, "mirror.local", passed_on, body) is not None
    # the IETF headers alone are any registry's: its 429 is retried as any other
    assert spent_budget(429, "mirror.local", {"ratelimit-remaining": "0;w=60"}, body) is None


def test_durations_round() -> None:
    assert [duration(s) for s in (21600, 5400, 3599, 1, 0)] == ["6 h", "2 h", "60 min"] + [
        "1 min"
    ] * 2


def test_the_store_keeps_the_latest_per_host_and_credential() -> None:
    budgets = RateBudgets()
    budgets.record(HUB, "anonymous", Budget(remaining=80), docker_hub=True)
    budgets.record("Registry-1.Docker.IO", "anonymous", Budget(remaining=79), docker_hub=True)
    budgets.record(HUB, "secret:a/b", Budget(remaining=5), docker_hub=True)
    budgets.record("ghcr.io", "anonymous", Budget(remaining=1), docker_hub=False)
    seen = budgets.get(HUB, "anonymous")
    assert seen is not None and seen.budget.remaining == 79
    assert [(s.host, s.credential) for s in budgets.docker_hub()] == [
        (HUB, "anonymous"),
        (HUB, "secret:a/b"),
    ]
    merged = RateBudgets()
    merged.extend(budgets)
    assert merged.seen == budgets.seen


# -- how many pods, how many pulls --------------------------------------------------------

WORKLOADS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: 30, template: {spec: {containers: [{name: c, image: nginx:1.27}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d-default}
spec: {template: {spec: {containers: [{name: c, image: nginx:1.27}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec: {replicas: 0, template: {spec: {containers: [{name: c, image: redis:7}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec: {replicas: 4, template: {spec: {containers: [{name: c, image: redis:7}]}}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {replicas: "3", template: {spec: {containers: [{name: c, image: redis:7}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec: {parallelism: 5, template: {spec: {containers: [{name: c, image: busybox:1}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "* * * * *"
  jobTemplate: {spec: {parallelism: 2, template: {spec: {containers: [{name: c, image: b:1}]}}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj-default}
spec:
  schedule: "* * * * *"
  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: b:1}]}}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec: {template: {spec: {containers: [{name: c, image: fluentd:1}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: pt}
template: {spec: {containers: [{name: c, image: nginx:1.27}]}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {replicas: 9, containers: [{name: c, image: nginx:1.27}]}
"""


def pods(text: str) -> list[PodSpec]:
    loaded = load_text(text, "m.yaml")
    assert loaded.invalid == []
    return extract(loaded.objects)


def test_replicas_come_from_each_kinds_field() -> None:
    found = {(p.object.kind, p.object.name): (p.replicas, p.per_node) for p in pods(WORKLOADS)}
    assert found == {
        ("Deployment", "d"): (30, False),
        ("Deployment", "d-default"): (1, False),
        ("StatefulSet", "s"): (0, False),
        ("ReplicaSet", "rs"): (4, False),
        ("ReplicationController", "rc"): (None, False),  # a string: the API refuses it
        ("Job", "j"): (5, False),
        ("CronJob", "cj"): (2, False),
        ("CronJob", "cj-default"): (1, False),
        ("DaemonSet", "ds"): (None, True),
        ("Pod", "p"): (1, False),
        ("PodTemplate", "pt"): (0, False),  # it runs nothing
        ("Widget", "w"): (None, False),  # a custom resource: not known
    }


def test_pods_counted_per_template() -> None:
    by_name = {p.object.name: p for p in pods(WORKLOADS)}
    assert pods_of(by_name["d"], None) == (30, "30 replicas")
    assert pods_of(by_name["j"], None) == (5, "5 parallel pods")
    assert pods_of(by_name["ds"], 12) == (12, "12 nodes")
    count, how = pods_of(by_name["ds"], None)
    assert count == 1 and "--nodes" in how
    assert pods_of(by_name["w"], None) == (1, "1 pod (how many it runs is not known)")


POD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  template:
    spec:
      initContainers: [{name: init, image: busybox:1.36}]
      containers:
        - {name: a, image: nginx:1.27}
        - {name: b, image: "docker.io/library/nginx:1.27"}
        - {name: c, image: ghcr.io/org/app:1}
        - {name: d, image: redis:7, imagePullPolicy: Never}
      ephemeralContainers: [{name: debug, image: alpine:3}]
      volumes:
        - name: models
          image: {reference: "org/models:v1"}
"""


def resolved(uses: list[ImageUse], credential: str = "anonymous") -> list[ImageUse]:
    return [
        replace(
            use,
            resolution=Resolution(
                use.reference,
                Outcome.RESOLVED,
                digest="sha256:" + "1" * 64,
                credential=credential,
                endpoint=f"https://{HUB}" if use.reference.domain == "docker.io" else None,
            ),
        )
        for use in uses
        if use.reference is not None
    ]


def test_distinct_docker_hub_images_of_a_template_times_its_replicas() -> None:
    """init + nginx (two spellings, one reference) + the image volume; not ghcr.io, not the
    image the kubelet never pulls, not the ephemeral container: 3 images × 3 replicas."""
    uses = resolved(image_uses(pods(POD)))
    budgets = RateBudgets()
    for use in uses:
        assert use.reference is not None
        if use.reference.domain == "docker.io":
            budgets.record(
                HUB,
                "anonymous",
                Budget(remaining=9),
                docker_hub=True,
                repository=use.reference.path,
            )
    [(key, [share])] = shares(uses, budgets).items()
    assert key == (HUB, "anonymous")
    assert (len(share.images), share.pods, share.pulls) == (3, 3, 9)
    assert share.first.container.name == "init"


def test_each_credential_spends_its_own_budget() -> None:
    anonymous = resolved(image_uses(pods(POD)))
    login = resolved(image_uses(pods(POD.replace("name: web", "name: api"))), "secret:d/hub")
    budgets = RateBudgets()
    budgets.record(HUB, "anonymous", Budget(limit=100, remaining=9, window=21600), docker_hub=True)
    budgets.record(HUB, "secret:d/hub", Budget(limit=200, remaining=8), docker_hub=True)
    for use in [*anonymous, *login]:
        assert use.reference is not None and use.resolution is not None
        budgets.counted.add((HUB, use.resolution.credential or "", use.reference.path))
    [finding] = rate_limit_findings([*anonymous, *login], budgets)
    where = (finding.rule, finding.name, finding.container)
    assert where == ("docker-hub-rate-limit", "api", "init")
    assert finding.message == (
        "Docker Hub's pull budget for login secret:d/hub has 8 of 200 pulls left, as this "
        "runner sees it, but this change's pods would make up to 9 pulls, each image once per "
        "node (this Deployment: 3 images × 3 replicas)"
    )
    assert finding.severity.value == "warning"


def test_no_budget_seen_no_finding() -> None:
    uses = resolved(image_uses(pods(POD)))
    assert rate_limit_findings(uses, RateBudgets()) == []
    not_hub = RateBudgets()
    not_hub.record(HUB, "anonymous", Budget(remaining=0), docker_hub=False)
    assert rate_limit_findings(uses, not_hub) == []


@pytest.mark.parametrize("value", ["0", "-2", "many", "true", "2.5"])
def test_config_nodes_count_must_be_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    from gate.config import ConfigError, load_config

    path = tmp_path / ".pullgate.yaml"
    path.write_text(f"nodes:\n  count: {value}\n")
    with pytest.raises(ConfigError, match=r"nodes\.count: must be a whole number of nodes"):
        load_config(path)
    path.write_text("nodes:\n  count: 50\n")
    assert load_config(path).nodes.count == 50


SPREAD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: big}
spec:
  replicas: 150
  template: {spec: {containers: [{name: a, image: nginx:1.27}, {name: b, image: redis:7}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: small}
spec:
  replicas: 5
  template: {spec: {containers: [{name: a, image: nginx:1.27}]}}
"""


def _budgets_for(uses: list[ImageUse], remaining: int, *, skip: str = "") -> RateBudgets:
    budgets = RateBudgets()
    budgets.record(HUB, "anonymous", Budget(limit=100, remaining=remaining), docker_hub=True)
    for use in uses:
        assert use.reference is not None
        if use.reference.path != skip:
            budgets.counted.add((HUB, "anonymous", use.reference.path))
    return budgets


def test_each_image_is_pulled_once_per_node_at_most() -> None:
    """With `IfNotPresent` a node pulls an image once whatever the pods on it (and `Always`
    asks with a free HEAD): 155 pods of nginx and 150 of redis on 10 nodes are 20 pulls."""
    uses = resolved(image_uses(pods(SPREAD)))
    assert rate_limit_findings(uses, _budgets_for(uses, 20), nodes=10) == []
    findings = rate_limit_findings(uses, _budgets_for(uses, 19), nodes=10)
    assert [f.name for f in findings] == ["big", "small"]
    assert "up to 20 pulls" in findings[0].message
    # not knowing the nodes, each pod may be on its own: 305 at most
    [big, _] = rate_limit_findings(uses, _budgets_for(uses, 99))
    assert "up to 305 pulls" in big.message


def test_an_image_whose_answers_state_no_budget_costs_nothing() -> None:
    """Docker: no rate-limit headers means the image (or account) is not limited."""
    uses = resolved(image_uses(pods(SPREAD)))
    budgets = _budgets_for(uses, 155, skip="library/redis")
    assert rate_limit_findings(uses, budgets) == []  # nginx: 155 pods, redis free
    assert rate_limit_findings(uses, _budgets_for(uses, 155, skip="library/nothing")) != []


def test_a_mirror_that_states_no_budget_spends_none_of_docker_hubs() -> None:
    uses = [
        replace(u, resolution=replace(u.resolution, endpoint="https://cache.example"))
        for u in resolved(image_uses(pods(SPREAD)))
        if u.resolution is not None
    ]
    assert rate_limit_findings(uses, _budgets_for(uses, 1)) == []


def test_a_job_runs_no_more_pods_than_completions_left_and_none_suspended() -> None:
    """The Job controller keeps at most min(parallelism, completions left) pods active, none
    while `suspend` is true (pkg/controller/job); a work queue (no completions) runs up to
    `parallelism`."""
    text = """\
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec: {parallelism: 5, completions: 1, template: {spec: {containers: [{name: c, image: a:1}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: queue}
spec: {parallelism: 5, template: {spec: {containers: [{name: c, image: a:1}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: held}
spec: {suspend: true, template: {spec: {containers: [{name: c, image: a:1}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: paused}
spec:
  suspend: true
  schedule: "* * * * *"
  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: a:1}]}}}}
"""
    found = {p.object.name: p.replicas for p in pods(text)}
    assert found == {"once": 1, "queue": 5, "held": 0, "paused": 0}
