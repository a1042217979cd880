package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const chart = "helm/advicechat"

// helmBin is the helm that make deploy-check built (HELM), or one on PATH.
func helmBin(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	h, err := exec.LookPath("helm")
	if err != nil {
		t.Fatal("no helm: run `make deploy-check`, or set HELM")
	}
	return h
}

func render(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(helmBin(t), append([]string{"template", "advicechat", chart, "--namespace", "chat"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// newObject returns the API type of a manifest's apiVersion and kind. A
// kind the chart did not render before fails until it is added here.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "networking.k8s.io/v1/Ingress":
		return &networkingv1.Ingress{}, true
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, true
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monitoringv1.PrometheusRule{}, true
	}
	return nil, false
}

// decodeAll splits a rendered chart into documents and decodes each one
// strictly: an unknown or duplicate field anywhere fails.
func decodeAll(t *testing.T, rendered []byte) map[string][]any {
	t.Helper()
	objs := map[string][]any{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(rendered)))
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		obj, ok := newObject(head.APIVersion, head.Kind)
		if !ok {
			t.Fatalf("the chart renders %s %s, which this test does not know: add its type to newObject", head.APIVersion, head.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Errorf("%s %s does not decode strictly: %v\n%s", head.APIVersion, head.Kind, err, doc)
			continue
		}
		objs[head.Kind] = append(objs[head.Kind], obj)
	}
	return objs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

func kinds(objs map[string][]any) []string {
	var ks []string
	for k, v := range objs {
		for range v {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func TestChartRendersStrictManifests(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		kinds []string
	}{
		{"defaults", nil, []string{"Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"}},
		{"everything on", []string{"-f", chart + "/ci/full-values.yaml"}, []string{"ConfigMap", "ConfigMap", "Deployment", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}},
		{"one replica, nothing optional", []string{"--set", "replicaCount=1,podDisruptionBudget.enabled=false,networkPolicy.enabled=false,serviceAccount.create=false,topologySpread=false"}, []string{"Deployment", "Service"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeAll(t, render(t, c.args...))
			if got := kinds(objs); !slices.Equal(got, c.kinds) {
				t.Fatalf("rendered %v, want %v", got, c.kinds)
			}
			checkDeployment(t, objs["Deployment"][0].(*appsv1.Deployment))
			checkService(t, objs)
		})
	}
}

// checkDeployment holds the chart to what docs/operations.md promises.
func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s twice", e.Name)
		}
		env[e.Name] = e
	}
	for _, name := range []string{"ADVICECHAT_BLOCK_SECRET", "ADVICECHAT_REDIS_URL"} {
		if _, ok := env[name]; ok {
			t.Errorf("%s is inline in the environment; it must come from a file (%s_FILE)", name, name)
		}
		f, ok := env[name+"_FILE"]
		if !ok || !strings.HasPrefix(f.Value, "/etc/advicechat/secrets/") {
			t.Errorf("%s_FILE = %q, want a file under the secrets volume", name, f.Value)
		}
	}
	if env["ADVICECHAT_METRICS_ADDR"].Value != "0.0.0.0:9090" {
		t.Errorf("ADVICECHAT_METRICS_ADDR = %q, want 0.0.0.0:9090", env["ADVICECHAT_METRICS_ADDR"].Value)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", p)
	}
	// The pod must outlive preStop plus the service's own shutdown bound.
	var shutdown int64
	if _, err := fmt.Sscanf(env["ADVICECHAT_SHUTDOWN_TIMEOUT"].Value, "%ds", &shutdown); err != nil {
		t.Errorf("ADVICECHAT_SHUTDOWN_TIMEOUT = %q, want whole seconds", env["ADVICECHAT_SHUTDOWN_TIMEOUT"].Value)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no preStop sleep")
	}
	preStop := c.Lifecycle.PreStop.Sleep.Seconds
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < preStop+shutdown+1 {
		t.Errorf("terminationGracePeriodSeconds %v, want more than preStop %d + shutdown %d", g, preStop, shutdown)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container security context %+v: want read-only root, no privilege escalation, all capabilities dropped", sc)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want non-root", psc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
	// The accounts Secret is a directory, so changes reach the pod.
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" {
			t.Errorf("volume mount %s uses subPath: a changed Secret would never reach the pod", m.Name)
		}
	}
}

func checkService(t *testing.T, objs map[string][]any) {
	t.Helper()
	svc := objs["Service"][0].(*corev1.Service)
	ports := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p.Port
	}
	if _, ok := ports["metrics"]; !ok {
		t.Errorf("Service has no metrics port: %v", ports)
	}
	for _, o := range objs["ServiceMonitor"] {
		sm := o.(*monitoringv1.ServiceMonitor)
		if sm.Spec.JobLabel != "app.kubernetes.io/name" || svc.Labels["app.kubernetes.io/name"] != "advicechat" {
			t.Errorf("ServiceMonitor job label %q from Service label %q: the rules need job=\"advicechat\"", sm.Spec.JobLabel, svc.Labels["app.kubernetes.io/name"])
		}
		for _, e := range sm.Spec.Endpoints {
			if _, ok := ports[e.Port]; !ok {
				t.Errorf("ServiceMonitor scrapes port %q, which the Service does not have", e.Port)
			}
		}
	}
	for _, o := range objs["PrometheusRule"] {
		pr := o.(*monitoringv1.PrometheusRule)
		if len(pr.Spec.Groups) == 0 || len(pr.Spec.Groups[0].Rules) == 0 {
			t.Error("PrometheusRule has no rules")
		}
	}
}

// The chart carries copies of the rules and the dashboard (helm reads no
// file outside the chart); they must not drift.
func TestChartCopiesAreCurrent(t *testing.T) {
	for copyPath, orig := range map[string]string{
		filepath.Join(chart, "files/rules.yaml"):                "prometheus/rules.yaml",
		filepath.Join(chart, "files/advicechat-dashboard.json"): "grafana/dashboards/advicechat.json",
	} {
		a, err := os.ReadFile(copyPath)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(orig)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("deploy/%s differs from deploy/%s: cp deploy/%s deploy/%s", copyPath, orig, orig, copyPath)
		}
	}
}

// The decoding above is only worth something if it refuses what the API
// server would drop.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	doc := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 2\n")
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(doc, &d); err == nil {
		t.Fatal("spec.replica (a typo of replicas) decoded without an error")
	}
}
