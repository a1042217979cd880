// Package deploy holds the checks of the deployment files: the Helm chart's
// manifests decode strictly into the Kubernetes API types, and the Grafana
// dashboard and the Prometheus rules use only metrics the service exports.
// It is a module of its own, so the service's go.mod stays free of the
// Kubernetes modules and `go test ./...` at the root does not run it; `make
// deploy-check` does.
package deploy
