package deploy

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

const kustomizeDir = "kubernetes/base"

type k8sMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
}

type kustomization struct {
	k8sMeta            `yaml:",inline"`
	Namespace          string   `yaml:"namespace"`
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type k8sVolume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
	EmptyDir any `yaml:"emptyDir"`
}

type k8sDeployment struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot *bool  `yaml:"runAsNonRoot"`
					RunAsUser    *int64 `yaml:"runAsUser"`
					FSGroup      *int64 `yaml:"fsGroup"`
				} `yaml:"securityContext"`
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []k8sVolume    `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sService struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sServiceMonitor struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type k8sPDB struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		MinAvailable   any `yaml:"minAvailable"`
		MaxUnavailable any `yaml:"maxUnavailable"`
		Selector       struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

type k8sPVC struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		AccessModes []string `yaml:"accessModes"`
	} `yaml:"spec"`
}

// readManifest decodes the one document in a manifest file, strictly as
// YAML (duplicate keys are errors), into v.
func readManifest(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kustomizeDir, name))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: want one document per file", name)
	}
}

// selects reports whether selector's labels are all in labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesBase(t *testing.T) {
	var k kustomization
	readManifest(t, "kustomization.yaml", &k)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization: %s %s", k.APIVersion, k.Kind)
	}

	t.Run("the kustomization lists every file and every file exists", func(t *testing.T) {
		listed := map[string]bool{"kustomization.yaml": true}
		for _, r := range k.Resources {
			listed[r] = true
		}
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.Files {
				if _, file, ok := strings.Cut(f, "="); ok { // key=file
					f = file
				}
				listed[f] = true
			}
		}
		files := listFiles(t, kustomizeDir)
		for _, f := range files {
			if !listed[f] {
				t.Errorf("%s is not in kustomization.yaml", f)
			}
		}
		for f := range listed {
			if !slices.Contains(files, f) {
				t.Errorf("kustomization.yaml lists %s, which does not exist", f)
			}
		}
	})

	t.Run("every resource has the expected kind and apiVersion", func(t *testing.T) {
		want := map[string]string{
			"Namespace": "v1", "Deployment": "apps/v1", "Service": "v1", "PersistentVolumeClaim": "v1",
			"ServiceMonitor": "monitoring.coreos.com/v1", "PodDisruptionBudget": "policy/v1",
		}
		got := map[string]string{}
		for _, r := range k.Resources {
			var m k8sMeta
			readManifest(t, r, &m)
			if m.Metadata.Name == "" {
				t.Errorf("%s: no metadata.name", r)
			}
			got[m.Kind] = m.APIVersion
		}
		if !maps.Equal(got, want) {
			t.Errorf("kinds and apiVersions:\n got %v\nwant %v", got, want)
		}
	})

	var d k8sDeployment
	readManifest(t, "deployment.yaml", &d)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment: %d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	podLabels := d.Spec.Template.Metadata.Labels

	t.Run("one replica replaced with Recreate, for SQLite's single writer", func(t *testing.T) {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
			t.Errorf("replicas %v, strategy %q: want 1 and Recreate", d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		if !selects(d.Spec.Selector.MatchLabels, podLabels) {
			t.Errorf("selector %v does not select the pod's labels %v", d.Spec.Selector.MatchLabels, podLabels)
		}
		var pvc k8sPVC
		readManifest(t, "pvc.yaml", &pvc)
		if !slices.Equal(pvc.Spec.AccessModes, []string{"ReadWriteOnce"}) {
			t.Errorf("PVC access modes %v, want [ReadWriteOnce]", pvc.Spec.AccessModes)
		}
		var claimed bool
		for _, v := range d.Spec.Template.Spec.Volumes {
			claimed = claimed || v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Metadata.Name
		}
		if !claimed {
			t.Errorf("no volume claims the PVC %s", pvc.Metadata.Name)
		}
	})

	t.Run("the container runs as non-root on a read-only root file system", func(t *testing.T) {
		psc := d.Spec.Template.Spec.SecurityContext
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 || psc.FSGroup == nil {
			t.Errorf("pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser and an fsGroup for the volume", psc)
		}
		sc := c.SecurityContext
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			!slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("container securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, capabilities dropped", sc)
		}
		if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
			t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
		}
	})

	t.Run("probes ask slogate's health and readiness endpoints on its port", func(t *testing.T) {
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 || c.Ports[0].Name != "http" {
			t.Fatalf("ports %+v, want http 8080", c.Ports)
		}
		for _, p := range []struct {
			name  string
			probe *k8sProbe
			path  string
		}{
			{"startupProbe", c.StartupProbe, "/healthz"},
			{"livenessProbe", c.LivenessProbe, "/healthz"},
			{"readinessProbe", c.ReadinessProbe, "/readyz"},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s: want an httpGet probe of %s", p.name, p.path)
				continue
			}
			if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != "http" {
				t.Errorf("%s: %s on port %v, want %s on port http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port, p.path)
			}
		}
	})

	t.Run("the Service, ServiceMonitor and PodDisruptionBudget select the pod", func(t *testing.T) {
		var svc k8sService
		readManifest(t, "service.yaml", &svc)
		if !selects(svc.Spec.Selector, podLabels) {
			t.Errorf("service selector %v does not select the pod's labels %v", svc.Spec.Selector, podLabels)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != "http" || svc.Spec.Ports[0].Port != 8080 {
			t.Errorf("service ports %+v, want 8080 to the container's http port", svc.Spec.Ports)
		}
		// The argo and flagger examples reach the gate here.
		if svc.Metadata.Name != "slogate" || k.Namespace != "slogate" {
			t.Errorf("service %s in namespace %s: the examples in deploy/argo and deploy/flagger use http://slogate.slogate.svc:8080", svc.Metadata.Name, k.Namespace)
		}

		var sm k8sServiceMonitor
		readManifest(t, "servicemonitor.yaml", &sm)
		if !selects(sm.Spec.Selector.MatchLabels, svc.Metadata.Labels) {
			t.Errorf("servicemonitor selector %v does not select the service's labels %v", sm.Spec.Selector.MatchLabels, svc.Metadata.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("servicemonitor endpoints %+v, want /metrics on port %s", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
		}

		var pdb k8sPDB
		readManifest(t, "pdb.yaml", &pdb)
		if !selects(pdb.Spec.Selector.MatchLabels, podLabels) {
			t.Errorf("PDB selector %v does not select the pod's labels %v", pdb.Spec.Selector.MatchLabels, podLabels)
		}
		// With one replica, minAvailable 1 or maxUnavailable 0 would block
		// every node drain.
		if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable != 1 {
			t.Errorf("PDB minAvailable %v maxUnavailable %v, want maxUnavailable 1 for a single replica", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
		}
	})

	t.Run("the image is set by the kustomization and pinned", func(t *testing.T) {
		var found bool
		for _, im := range k.Images {
			if im.Name == c.Image {
				found = true
				if p := pinned(im.NewName + ":" + im.NewTag); p != "" {
					t.Error(p)
				}
			}
		}
		if !found {
			t.Errorf("container image %q has no images: entry in kustomization.yaml", c.Image)
		}
	})

	t.Run("the generated config loads with slo.Load as mounted, and writes only to writable volumes", func(t *testing.T) {
		generated := map[string]map[string][]byte{}
		for _, g := range k.ConfigMapGenerator {
			files := map[string][]byte{}
			for _, f := range g.Files {
				key, file, ok := strings.Cut(f, "=")
				if !ok {
					key, file = filepath.Base(f), f
				}
				data, err := os.ReadFile(filepath.Join(kustomizeDir, file))
				if err != nil {
					t.Fatal(err)
				}
				files[key] = data
			}
			generated[g.Name] = files
		}
		volumes := map[string]k8sVolume{}
		for _, v := range d.Spec.Template.Spec.Volumes {
			volumes[v.Name] = v
		}
		root := t.TempDir()
		writable := map[string]bool{}
		for _, m := range c.VolumeMounts {
			v, ok := volumes[m.Name]
			switch {
			case !ok:
				t.Errorf("volumeMount %s: no such volume", m.Name)
			case v.ConfigMap != nil:
				files, ok := generated[v.ConfigMap.Name]
				if !ok {
					t.Errorf("volume %s: configMap %s is not generated by the kustomization", v.Name, v.ConfigMap.Name)
					continue
				}
				writeConfigMapVolume(t, filepath.Join(root, m.MountPath), files)
			default:
				writable[m.MountPath] = !m.ReadOnly
			}
		}
		i := slices.Index(c.Args, "--config")
		if len(c.Args) == 0 || c.Args[0] != "serve" || i < 0 || i+1 >= len(c.Args) {
			t.Fatalf("args %v: want serve --config FILE", c.Args)
		}
		cat, err := slo.Load(filepath.Join(root, c.Args[i+1]))
		if err != nil {
			t.Fatalf("slo.Load of the mounted config: %v", err)
		}
		if len(cat.Services) == 0 {
			t.Error("no services loaded from the mounted specs")
		}
		if !writable[filepath.Dir(cat.Config.Storage)] {
			t.Errorf("storage %s: its directory is not a writable volume mount (%v); SQLite writes the WAL beside it", cat.Config.Storage, writable)
		}
		if !writable["/tmp"] {
			t.Error("/tmp is not a writable volume: SQLite's temporary files need one on a read-only root")
		}
		if cat.Config.Listen != ":8080" && cat.Config.Listen != "0.0.0.0:8080" {
			t.Errorf("listen %q: want :8080, where the probes and the Service connect", cat.Config.Listen)
		}
	})

	t.Run("kubectl kustomize renders it", func(t *testing.T) {
		kubectl := optionalTool(t, "kubectl")
		out := runStdout(t, ".", kubectl, "kustomize", kustomizeDir)
		dec := yaml.NewDecoder(strings.NewReader(out))
		var kinds []string
		var cms []string
		var vols []string
		for {
			var doc struct {
				k8sMeta `yaml:",inline"`
				Spec    struct {
					Template struct {
						Spec struct {
							Volumes []k8sVolume `yaml:"volumes"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			}
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("kubectl kustomize output: %v", err)
			}
			kinds = append(kinds, doc.Kind)
			if doc.Kind == "ConfigMap" {
				cms = append(cms, doc.Metadata.Name)
			}
			for _, v := range doc.Spec.Template.Spec.Volumes {
				if v.ConfigMap != nil {
					vols = append(vols, v.ConfigMap.Name)
				}
			}
		}
		slices.Sort(cms)
		slices.Sort(vols)
		if len(cms) != 2 || !slices.Equal(cms, vols) {
			t.Errorf("rendered ConfigMaps %v, Deployment mounts %v: want the two generated ones, hashed, and mounted", cms, vols)
		}
		t.Logf("kubectl kustomize rendered %v", kinds)
	})
}
