from expect import Doc, derived, image, write

# ------------------------------------------------------------ Flink
f = "flink.apache.org_FlinkDeployment.yaml"; d = Doc(f)
ps = ["flink-regcred"]; ns = "flink"; sel = {"kubernetes.io/os": "linux"}
imgs = [
    image(d, 0, "spec.image", container=None, pod_container="flink-main-container", role="main (JobManager)", namespace=ns,
          pull_secrets=ps, service_account="flink", node_selector=sel, pod="JobManager pod(s)",
          note="spec.podTemplate.spec.containers[0] is named flink-main-container and has no image: Flink sets it from spec.image"),
    image(d, 0, "spec.image", container=None, pod_container="flink-main-container", role="main (TaskManager)", namespace=ns,
          pull_secrets=ps, service_account="flink", node_selector=sel, pod="TaskManager pods"),
    image(d, 0, "spec.podTemplate.spec.containers[1].image", container="fluentbit", pod_container="fluentbit", role="sidecar (JM and TM)",
          namespace=ns, pull_secrets=ps, service_account="flink", node_selector=sel, pod="JobManager and TaskManager pods",
          note="the common podTemplate is merged into both jobManager and taskManager templates"),
    image(d, 0, "spec.jobManager.podTemplate.spec.initContainers[0].image", container="busybox", pod_container="busybox",
          role="initContainer (JM only)", namespace=ns, pull_secrets=ps, service_account="flink", node_selector=sel, pod="JobManager pod(s)"),
]
write(f, source="apache/flink-kubernetes-operator@6e9caeb481 examples/pod-template.yaml", rules=[
    "spec.image (bare string) -> kubernetes.container.image.ref (Flink >= 1.17) / kubernetes.container.image: the image of container "
    "flink-main-container in JM and TM pods; if spec.image is empty, Flink's default applies: CONTAINER_IMAGE default "
    "getDefaultFlinkImage() = 'apache/flink:<flink version>-scala_<scala version>' of the Flink client bundled in the operator "
    "(older Flink: 'flink:...'); flinkConfiguration kubernetes.container.image.ref also works but spec.image is applied after it",
    "spec.podTemplate, spec.jobManager.podTemplate, spec.taskManager.podTemplate: Pod-shaped {apiVersion, kind, metadata, spec}; "
    "JM = merge(podTemplate, jobManager.podTemplate), TM = merge(podTemplate, taskManager.podTemplate) (merge by array position "
    "unless kubernetes.operator.pod-template.merge-arrays-by-name)",
    "pull secrets: podTemplate.spec.imagePullSecrets ([]{name}) and/or flinkConfiguration kubernetes.container.image.pull-secrets "
    "(semicolon-separated names)",
    "service account: spec.serviceAccount (string, required) -> kubernetes.service-account for JM and TM",
    "node selector: podTemplate.spec.nodeSelector, or flinkConfiguration kubernetes.jobmanager.node-selector / "
    "kubernetes.taskmanager.node-selector ('k:v,k:v')",
    "pods run in metadata.namespace"], images=imgs,
    notes=["spec.imagePullPolicy -> kubernetes.container.image.pull-policy",
           "FlinkBlueGreenDeployment (flink.apache.org/v1beta1, newer) nests a FlinkDeploymentSpec at spec.template.spec"])

f = "flink.apache.org_FlinkSessionJob.yaml"; d = Doc(f)
write(f, source="apache/flink-kubernetes-operator@6e9caeb481 examples/basic-session-deployment-and-job.yaml",
      rules=["no images: the job runs inside the session FlinkDeployment named by spec.deploymentName; jarURI is a jar URL"], images=[])

# ------------------------------------------------------------ Spark
SRULES = [
    "driver image: spec.driver.image, else spec.image (-> spark.kubernetes.driver.container.image); executor image: spec.executor.image, "
    "else spec.image (submission.go driverConfOption/executorConfOption); sparkConf spark.kubernetes.{,driver.,executor.}container.image "
    "can also set them; no default: Spark refuses to submit without an image",
    "spec.imagePullSecrets is a list of STRINGS, joined into spark.kubernetes.container.image.pullSecrets for driver and executors",
    "service accounts: spec.driver.serviceAccount (string) -> spark.kubernetes.authenticate.driver.serviceAccountName; "
    "spec.executor.serviceAccount -> ...executor.serviceAccountName, else Spark falls back to the driver's",
    "spec.nodeSelector -> spark.kubernetes.node.selector.* (both); spec.{driver,executor}.nodeSelector added by the pod webhook",
    "spec.{driver,executor}.{sidecars,initContainers}: []corev1.Container injected by the operator's pod webhook",
    "spec.{driver,executor}.template: corev1.PodTemplateSpec (Spark >= 3.0); container spark-kubernetes-driver / "
    "spark-kubernetes-executor (else the first) is the Spark container, whose image Spark sets from the conf",
    "pods run in metadata.namespace (namespaceOption: spark.kubernetes.namespace = app.Namespace); spec.driver.secrets[*] "
    "mounts Secrets by name"]
f = "sparkoperator.k8s.io_SparkApplication.yaml"; d = Doc(f)
ps = ["spark-regcred", "mirror-regcred"]; ns = "spark-jobs"
drv = dict(namespace=ns, pull_secrets=ps, service_account="spark-operator-spark", node_selector={"kubernetes.io/os": "linux"}, pod="driver")
exe = dict(namespace=ns, pull_secrets=ps, service_account="spark-operator-spark",
           node_selector={"kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "m5.xlarge"}, pod="executors")
imgs = [
    image(d, 0, "spec.driver.image", container=None, pod_container="spark-kubernetes-driver", role="driver", **drv,
          note="overrides spec.image for the driver"),
    image(d, 0, "spec.driver.initContainers[0].image", container="fetch-conf", pod_container="fetch-conf", role="initContainer (driver)", **drv),
    image(d, 0, "spec.driver.sidecars[0].image", container="log-shipper", pod_container="log-shipper", role="sidecar (driver)", **drv),
    image(d, 0, "spec.image", container=None, pod_container="spark-kubernetes-executor", role="executor", **exe,
          note="no spec.executor.image, so spec.image; the executor template's container has no image of its own; executor SA falls back to the driver's"),
]
write(f, source="kubeflow/spark-operator@38082f3318 examples/spark-pi.yaml, spark-pi-pod-template.yaml", rules=SRULES, images=imgs,
      notes=["spec.image is NOT used by the driver here (spec.driver.image wins)"])

f = "sparkoperator.k8s.io_ScheduledSparkApplication.yaml"; d = Doc(f)
imgs = [
    image(d, 0, "spec.template.image", container=None, pod_container="spark-kubernetes-driver", role="driver", namespace=ns,
          pull_secrets=["spark-regcred"], service_account="spark-operator-spark", pod="driver of each run"),
    image(d, 0, "spec.template.executor.image", container=None, pod_container="spark-kubernetes-executor", role="executor",
          namespace=ns, pull_secrets=["spark-regcred"], service_account="spark-executor", pod="executors of each run"),
]
write(f, source="kubeflow/spark-operator@38082f3318 examples/spark-pi-scheduled.yaml",
      rules=["all SparkApplication paths under spec.template"] + SRULES, images=imgs)

# ------------------------------------------------------------ Prometheus Operator
RELOADER = {"image": "quay.io/prometheus-operator/prometheus-config-reloader:v<operator version>",
            "containers": ["config-reloader", "init-config-reloader"],
            "source": "operator flag --prometheus-config-reloader (cmd/operator/main.go; default "
                      "operator.DefaultPrometheusConfigReloaderImage); kube-prometheus passes it in the operator Deployment args"}
f = "monitoring.coreos.com_Prometheus.yaml"; d = Doc(f)
k8s = dict(namespace="monitoring", pull_secrets=["quay-mirror"], service_account="prometheus-k8s",
           node_selector={"kubernetes.io/os": "linux"}, pod="StatefulSet prometheus-k8s")
imgs = [
    image(d, 0, "spec.image", container=None, pod_container="prometheus", role="operator container", **k8s),
    image(d, 0, "spec.thanos.image", container=None, pod_container="thanos-sidecar", role="operator sidecar", **k8s),
    image(d, 0, "spec.initContainers[0].image", container="init-chown-data", pod_container="init-chown-data", role="initContainer", **k8s),
    image(d, 0, "spec.containers[1].image", container="oauth-proxy", pod_container="oauth-proxy", role="container", **k8s,
          note="spec.containers[0] (name prometheus, no image) only patches the operator's prometheus container"),
    derived(d, 1, image="quay.io/prometheus/prometheus:v2.55.1", from_paths=["spec.baseImage", "spec.tag"], container=None,
            pod_container="prometheus", role="operator container", namespace="monitoring", pull_secrets=[],
            service_account="prometheus", pod="StatefulSet prometheus-legacy-tag", applies_to="spec",
            note="BuildImagePath: tag wins over version; result is the normalized name ref.WithTag(...).String() "
                 "(a Docker Hub baseImage would come out as docker.io/...)"),
    derived(d, 2, image="quay.io/prometheus/prometheus@sha256:7f0b5a0a5e7e0b9b5bb1c8b2f8ad5f5d7d6e2f1c3b4a5968778695a4b3c2d1e0",
            from_paths=["spec.baseImage", "spec.sha"], container=None, pod_container="prometheus", role="operator container",
            namespace="monitoring", pull_secrets=[], service_account="default", pod="StatefulSet prometheus-legacy-sha", applies_to="spec",
            note="sha wins over tag and version: baseImage@sha256:<sha>"),
    derived(d, 3, image="quay.io/prometheus/prometheus:v3.13.2", from_paths=[], container=None, pod_container="prometheus",
            role="operator container", namespace="monitoring", pull_secrets=[], service_account="default",
            pod="StatefulSet prometheus-defaulted", applies_to="spec",
            note="no image/baseImage/version: --prometheus-default-base-image (quay.io/prometheus/prometheus) + 'v'+DefaultPrometheusVersion "
                 "(last entry of PrometheusCompatibilityMatrix: v3.13.2 at operator HEAD 6adcebc507; v3.12.0 in v0.92.0, v3.13.1 in v0.93.0)"),
    derived(d, 3, image="quay.io/thanos/thanos:v0.42.4", from_paths=["spec.thanos.version"], container=None,
            pod_container="thanos-sidecar", role="operator sidecar", namespace="monitoring", pull_secrets=[],
            service_account="default", pod="StatefulSet prometheus-defaulted", applies_to="spec.thanos",
            note="thanos image = --thanos-default-base-image + spec.thanos.version (DefaultThanosVersion if empty)"),
]
PRULES = [
    "image: spec.image (used verbatim) else BuildImagePath(baseImage or --prometheus-default-base-image, 'v'+semver(spec.version or "
    "DefaultPrometheusVersion), tag, sha): sha -> base@sha256:<sha>; tag -> base:tag; else base:v<version>; a baseImage that "
    "already has a tag/digest is used as is (pkg/operator/image.go)",
    "spec.containers / spec.initContainers: []corev1.Container strategic-merged by name over the operator's (prometheus, "
    "config-reloader, thanos-sidecar / init-config-reloader); others appended",
    "pull secrets spec.imagePullSecrets ([]{name}); SA spec.serviceAccountName (else default); nodeSelector/affinity/tolerations at spec.*",
    "spec.secrets / spec.configMaps ([]string) are mounted into the pod; spec.volumes may reference Secrets",
    "StatefulSet prometheus-<name> (shards: prometheus-<name>-shard-N) in metadata.namespace"]
write(f, source="prometheus-operator@6adcebc507 pkg/operator/{image,defaults}.go; kube-prometheus manifests/prometheus-prometheus.yaml",
      rules=PRULES, images=imgs, not_in_manifest=[RELOADER])

f = "monitoring.coreos.com_PrometheusAgent.yaml"; d = Doc(f)
imgs = [derived(d, 0, image="quay.io/prometheus/prometheus:v3.13.2", from_paths=["spec.version"], container=None,
                pod_container="prometheus", role="operator container", namespace="monitoring", pull_secrets=["quay-mirror"],
                service_account="prometheus-agent", node_selector={"kubernetes.io/os": "linux"},
                pod="StatefulSet prom-agent-prometheus-agent (or DaemonSet with spec.mode: DaemonSet)", applies_to="spec",
                note="BuildImagePathForAgent(spec.image, --prometheus-default-base-image, 'v'+version)")]
write(f, source="prometheus-operator@6adcebc507 example/rbac/prometheus-agent/prometheus.yaml",
      rules=["as Prometheus, without baseImage/tag/sha and without thanos"] + PRULES[1:4], images=imgs, not_in_manifest=[RELOADER],
      notes=["spec.containers[0] (config-reloader, no image) patches the operator's config-reloader container"])

f = "monitoring.coreos.com_Alertmanager.yaml"; d = Doc(f)
imgs = [
    image(d, 0, "spec.image", container=None, pod_container="alertmanager", role="operator container", namespace="monitoring",
          pull_secrets=[], service_account="alertmanager-main", node_selector={"kubernetes.io/os": "linux"},
          pod="StatefulSet alertmanager-main"),
    derived(d, 1, image="quay.io/prometheus/alertmanager:v0.33.1", from_paths=[], container=None, pod_container="alertmanager",
            role="operator container", namespace="default", pull_secrets=["quay-mirror"], service_account="default",
            pod="StatefulSet alertmanager-example", applies_to="spec",
            note="no image/version: --alertmanager-default-base-image + DefaultAlertmanagerVersion (v0.33.1 at HEAD and v0.93.0; v0.33.0 in v0.92.0). "
                 "spec.version is used verbatim as the tag (no 'v' added): version 0.33.0 without image would give :0.33.0"),
    image(d, 1, "spec.containers[1].image", container="webhook-logger", pod_container="webhook-logger", role="container",
          namespace="default", pull_secrets=["quay-mirror"], service_account="default", pod="StatefulSet alertmanager-example"),
]
write(f, source="prometheus-operator@6adcebc507 pkg/alertmanager/statefulset.go; kube-prometheus manifests/alertmanager-alertmanager.yaml",
      rules=["image: spec.image else BuildImagePath(baseImage or --alertmanager-default-base-image, version (verbatim) or "
             "DefaultAlertmanagerVersion, tag, sha)"] + PRULES[1:4], images=imgs, not_in_manifest=[RELOADER])

f = "monitoring.coreos.com_ThanosRuler.yaml"; d = Doc(f)
kw = dict(namespace="monitoring", pull_secrets=["quay-mirror"], service_account="thanos-ruler",
          node_selector={"kubernetes.io/os": "linux"}, pod="StatefulSet thanos-ruler-thanos-ruler")
imgs = [image(d, 0, "spec.image", container=None, pod_container="thanos-ruler", role="operator container", **kw),
        image(d, 0, "spec.initContainers[0].image", container="wait-for-query", pod_container="wait-for-query", role="initContainer", **kw)]
write(f, source="prometheus-operator@6adcebc507 example/thanos/thanos-ruler.yaml",
      rules=["image: spec.image else --thanos-default-base-image + (spec.version or DefaultThanosVersion, verbatim)",
             "containers merged by name over thanos-ruler / config-reloader (the reloader only when rule ConfigMaps exist); "
             "initContainers used as given"] + PRULES[2:4], images=imgs, not_in_manifest=[RELOADER])

# ------------------------------------------------------------ Crossplane
f = "pkg.crossplane.io_DeploymentRuntimeConfig.yaml"; d = Doc(f)
kw = dict(namespace="crossplane-system", pull_secrets=["sidecar-regcred", "xpkg-regcred"], service_account="provider-aws-sa",
          node_selector={"kubernetes.io/os": "linux"}, pod="Deployment of ProviderRevision provider-aws-s3-*")
imgs = [
    image(d, 1, "spec.package", container=None, pod_container="package-runtime", role="runtime container", **kw,
          note="DRC's package-runtime container has no image, so the package image is used (DeploymentRuntimeWithOptionalImage); "
               "Crossplane also pulls the package itself with packagePullSecrets (and ImageConfig rewrites/credentials)"),
    image(d, 0, "spec.deploymentTemplate.spec.template.spec.containers[1].image", container="sidecar", pod_container="sidecar",
          role="container", **kw),
]
write(f, source="crossplane/crossplane@2d040d2daf test/e2e/manifests/pkg/deployment-runtime-config/setup/deployment-runtime-config.yaml",
      rules=["pod spec at spec.deploymentTemplate.spec.template.spec (appsv1.DeploymentSpec); runtime container 'package-runtime' is "
             "forced first; its image defaults to the package (Provider/Function spec.package) when empty",
             "pull secrets: template's imagePullSecrets + the package's spec.packagePullSecrets (DeploymentWithImagePullSecrets) "
             "+ ImageConfig pull secrets",
             "service account: spec.serviceAccountTemplate.metadata.name, else the revision name; namespace: Crossplane's (crossplane-system by default)",
             "a DRC alone runs nothing: it is used by Provider/Function spec.runtimeConfigRef.name (default DRC 'default')"],
      images=imgs)

f = "pkg.crossplane.io_ControllerConfig.yaml"; d = Doc(f)
imgs = [image(d, 0, "spec.image", container=None, pod_container="<package runtime container>", role="runtime container",
              namespace="crossplane-system", pull_secrets=["mirror-regcred"], service_account="provider-aws",
              node_selector={"kubernetes.io/os": "linux"}, pod="Deployment of any ProviderRevision whose Provider has controllerConfigRef.name: aws-config",
              note="spec.image replaces the package image in the runtime container; spec.imagePullSecrets set the pod's list "
                   "(Crossplane < 2.0, internal/controller/pkg/revision/runtime_override_options.go)")]
write(f, source="crossplane/crossplane@71bd9d357^ apis/pkg/v1alpha1/config.go", rules=[
    "flat fields, not a pod template: image (*string), imagePullSecrets []{name}, serviceAccountName, nodeSelector, affinity, tolerations, "
    "volumes, volumeMounts, env, envFrom, args; removed in Crossplane v2.0.0"], images=imgs)
print("ok")
