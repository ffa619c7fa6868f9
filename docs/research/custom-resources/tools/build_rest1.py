from expect import Doc, derived, image, write

PODRULE = "pod template is a plain corev1.PodTemplateSpec: images at <template>.spec.{initContainers,containers}[*].image, " \
          "pull secrets <template>.spec.imagePullSecrets ([]{name}) + the service account's, SA <template>.spec.serviceAccountName (else 'default')"

# ------------------------------------------------------------ Argo Rollouts
f = "argoproj.io_Rollout.yaml"; d = Doc(f)
kw = dict(namespace="shop", pull_secrets=["regcred"], service_account="checkout", node_selector={"kubernetes.io/os": "linux"},
          pod="Rollout checkout (ReplicaSets)")
imgs = [
    image(d, 0, "spec.template.spec.initContainers[0].image", container="migrate", pod_container="migrate", role="initContainer", **kw),
    image(d, 0, "spec.template.spec.containers[0].image", container="checkout", pod_container="checkout", role="container", **kw),
    image(d, 0, "spec.template.spec.containers[1].image", container="envoy", pod_container="envoy", role="container", **kw),
    image(d, 1, "spec.template.spec.containers[0].image", container="rollouts-demo", pod_container="rollouts-demo",
          role="container", namespace="shop", pull_secrets=[], service_account="default", pod="Deployment rollout-ref-deployment",
          note="also the pod template of Rollout rollout-ref-deployment (doc 2, spec.workloadRef): count it once, the Rollout runs it"),
]
write(f, source="argoproj/argo-rollouts@9f8d111d8f examples/rollout-secret.yaml, rollout-bluegreen.yaml, workload-ref/",
      rules=[PODRULE + " (template = spec.template)",
             "spec.workloadRef {apiVersion, kind, name} points at a Deployment/ReplicaSet/PodTemplate in the same namespace whose "
             "template the Rollout uses; spec.template must then be empty",
             "canary/blueGreen experiment steps reuse the Rollout's own template (specRef: stable|canary); analysis steps run AnalysisTemplates"],
      images=imgs)

f = "argoproj.io_Experiment.yaml"; d = Doc(f)
imgs = [
    image(d, 0, "spec.templates[0].template.spec.containers[0].image", container="rollouts-demo", pod_container="rollouts-demo",
          role="container", pod="template purple", namespace="shop", pull_secrets=["regcred"], service_account="default"),
    image(d, 0, "spec.templates[1].template.spec.containers[0].image", container="rollouts-demo", pod_container="rollouts-demo",
          role="container", pod="template orange", namespace="shop", pull_secrets=[], service_account="demo",
          node_selector={"kubernetes.io/arch": "arm64"}),
]
write(f, source="argoproj/argo-rollouts@9f8d111d8f examples/experiment-with-analysis.yaml",
      rules=[PODRULE + " (template = spec.templates[*].template)"], images=imgs)

f = "argoproj.io_AnalysisTemplate.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.metrics[0].provider.job.spec.template.spec.containers[0].image", container="load-tester",
              pod_container="load-tester", role="container", pod="Job of metric load-test", namespace="shop",
              pull_secrets=["regcred"], service_account="load-tester")]
write(f, source="argoproj/argo-rollouts@9f8d111d8f examples/analysis-templates.yaml",
      rules=[PODRULE + " (template = spec.metrics[*].provider.job.spec.template)",
             "only job metrics run pods; web/prometheus/... providers do not",
             "the Job runs in the AnalysisRun's namespace (= the Rollout's), or ARGO_ROLLOUTS_ANALYSIS_JOB_NAMESPACE"],
      images=imgs, notes=["'{{args.*}}' placeholders can also appear in image strings; they are resolved when the AnalysisRun is made"])

f = "argoproj.io_ClusterAnalysisTemplate.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.metrics[0].provider.job.spec.template.spec.containers[0].image", container="sleep",
              pod_container="sleep", role="container", pod="Job of metric pass", namespace=None, pull_secrets=[],
              service_account="default", node_selector={"kubernetes.io/os": "linux"},
              note="namespace: the using Rollout's/Experiment's (cluster-scoped template)")]
write(f, source="argoproj/argo-rollouts@9f8d111d8f examples/cluster-analysis-templates.yaml",
      rules=[PODRULE + " (template = spec.metrics[*].provider.job.spec.template)"], images=imgs)

# ------------------------------------------------------------ Knative
QP = {"image": "queue-proxy image from ConfigMap knative-serving/config-deployment key queue-sidecar-image",
      "containers": ["queue-proxy"], "source": "knative/serving config/core/configmaps/deployment.yaml; added to every Revision pod"}
KRULES = ["pod spec = spec.template.spec (Service, Configuration) or spec (Revision): corev1.PodSpec inlined in RevisionSpec",
          "unnamed containers are named user-container (one) / user-container-0,-1... (several); init: init-container(-N) "
          "(revision_defaults.go applyDefaultContainerNames; configurable by config-defaults container-name-template)",
          "pull secrets spec...imagePullSecrets ([]{name}) + the SA's; the controller also resolves tags to digests itself with "
          "k8schain {namespace, serviceAccountName, imagePullSecrets} (pkg/reconciler/revision/revision.go reconcileDigest), "
          "skipping registries in config-deployment registries-skipping-tag-resolving (default kind.local,ko.local,dev.local)"]
f = "serving.knative.dev_Service.yaml"; d = Doc(f)
kw = dict(namespace="default", pull_secrets=["regcred"], service_account="frontend", node_selector={"kubernetes.io/arch": "amd64"},
          pod="Revision multi-container-00001")
imgs = [
    image(d, 0, "spec.template.spec.initContainers[0].image", container=None, pod_container="init-container", role="initContainer",
          note="needs feature kubernetes.podspec-init-containers", **kw),
    image(d, 0, "spec.template.spec.containers[0].image", container=None, pod_container="user-container-0", role="container", **kw),
    image(d, 0, "spec.template.spec.containers[1].image", container=None, pod_container="user-container-1", role="container", **kw),
]
write(f, source="knative/serving@98e5ef90aa test/test_images/{multicontainer,initcontainers}/service.yaml", rules=KRULES,
      images=imgs, not_in_manifest=[QP], notes=["nodeSelector is dropped unless feature kubernetes.podspec-nodeselector is enabled"])

f = "serving.knative.dev_Configuration.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.template.spec.containers[0].image", container=None, pod_container="user-container", role="container",
              namespace="default", pull_secrets=[], service_account="default", pod="Revision hello-00001")]
write(f, source="knative/serving@98e5ef90aa pkg/apis/serving/v1/configuration_types.go", rules=KRULES, images=imgs, not_in_manifest=[QP])

f = "serving.knative.dev_Revision.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.containers[0].image", container="app", pod_container="app", role="container", namespace="default",
              pull_secrets=["regcred"], service_account="hello", pod="Revision hello-00001")]
write(f, source="knative/serving@98e5ef90aa pkg/apis/serving/v1/revision_types.go", rules=KRULES, images=imgs, not_in_manifest=[QP])

f = "caching.internal.knative.dev_Image.yaml"; d = Doc(f)
imgs = [
    image(d, 0, "spec.image", container=None, pod_container=None, role="cached image", namespace="knative-serving",
          pull_secrets=[], service_account=None, pod=None),
    image(d, 1, "spec.image", container=None, pod_container=None, role="cached image", namespace="default",
          pull_secrets=["regcred"], service_account="hello", pod=None),
]
write(f, source="knative/caching@0edbf88bc2 pkg/apis/caching/v1alpha1/image_types.go; knative/serving config/core/999-cache.yaml",
      rules=["bare image string spec.image; pull with spec.serviceAccountName and spec.imagePullSecrets ([]{name}) in metadata.namespace",
             "no pod of its own: an image-cache implementation (if installed) pre-pulls it; knative serving ships none by default"],
      images=imgs)

# ------------------------------------------------------------ KEDA
f = "keda.sh_ScaledJob.yaml"; d = Doc(f)
kw = dict(namespace="workers", pull_secrets=["regcred"], service_account="consumer", node_selector={"kubernetes.io/os": "linux"},
          pod="Job rabbitmq-consumer-*")
imgs = [
    image(d, 0, "spec.jobTargetRef.template.spec.initContainers[0].image", container="wait-for-broker", pod_container="wait-for-broker",
          role="initContainer", **kw),
    image(d, 0, "spec.jobTargetRef.template.spec.containers[0].image", container="rabbitmq-client", pod_container="rabbitmq-client",
          role="container", **kw),
]
write(f, source="kedacore/keda-docs content/docs/2.17/reference/scaledjob-spec.md; kedacore/keda config/samples/keda_v1alpha1_scaledjob.yaml",
      rules=[PODRULE + " (template = spec.jobTargetRef.template)"], images=imgs)

# ------------------------------------------------------------ OpenKruise
f = "apps.kruise.io_CloneSet.yaml"; d = Doc(f)
kw = dict(namespace="web", pull_secrets=["regcred"], service_account="default", node_selector={"kubernetes.io/os": "linux"}, pod="CloneSet sample")
imgs = [image(d, 0, "spec.template.spec.containers[0].image", container="main", pod_container="main", role="container", **kw),
        image(d, 0, "spec.template.spec.containers[1].image", container="log-agent", pod_container="log-agent", role="container", **kw)]
write(f, source="openkruise/kruise@07169cfac7 config/samples/apps_v1alpha1_cloneset.yaml", rules=[PODRULE + " (template = spec.template)"], images=imgs)

f = "apps.kruise.io_StatefulSet.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.template.spec.containers[0].image", container="guestbook", pod_container="guestbook", role="container",
              namespace="web", pull_secrets=[], service_account="guestbook", pod="StatefulSet guestbook")]
write(f, source="openkruise/kruise@07169cfac7 docs/tutorial/advanced-statefulset.md", rules=[PODRULE + " (template = spec.template)",
      "same kind name as apps/v1 StatefulSet; match on apiVersion apps.kruise.io/*"], images=imgs)

f = "apps.kruise.io_DaemonSet.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.template.spec.containers[0].image", container="agent", pod_container="agent", role="container",
              namespace="kube-system", pull_secrets=[], service_account="default", node_selector={"kubernetes.io/os": "linux"},
              pod="DaemonSet node-agent")]
write(f, source="openkruise/kruise@07169cfac7 docs/tutorial/advanced-daemonset.md", rules=[PODRULE + " (template = spec.template)"],
      images=imgs, notes=["spec.template.spec.volumes[0] references Secret node-agent-token"])

f = "apps.kruise.io_BroadcastJob.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.template.spec.containers[0].image", container="pi", pod_container="pi", role="container",
              namespace="ops", pull_secrets=["regcred"], service_account="default", pod="one pod per node")]
write(f, source="openkruise/kruise@07169cfac7 config/samples/apps_v1beta1_broadcastjob-ttl.yaml", rules=[PODRULE + " (template = spec.template)"], images=imgs)

f = "apps.kruise.io_SidecarSet.yaml"; d = Doc(f)
kw = dict(namespace="web", pull_secrets=["sidecar-regcred", "<the target pod's own>"], service_account="<the target pod's>",
          pod="every pod labelled app.kubernetes.io/name=guestbook-with-sidecar in namespace web")
imgs = [image(d, 0, "spec.initContainers[0].image", container="init-myservice", pod_container="init-myservice", role="injected initContainer", **kw),
        image(d, 0, "spec.containers[0].image", container="guestbook-sidecar", pod_container="guestbook-sidecar", role="injected container", **kw)]
write(f, source="openkruise/kruise@07169cfac7 config/samples/apps_v1alpha1_sidecarset.yaml",
      rules=["spec.containers[*] / spec.initContainers[*]: SidecarContainer (inline corev1.Container + injection policy fields)",
             "cluster-scoped; target namespace: spec.namespace (v1alpha1) or spec.namespaceSelector; none = all namespaces",
             "spec.imagePullSecrets ([]{name}) are appended to the target pod's (webhook mergeSidecarSecrets), so they must exist in the target namespace"],
      images=imgs)
print("ok")
