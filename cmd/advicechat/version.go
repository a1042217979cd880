package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version and revision are stamped at build time:
//
//	go build -ldflags "-X main.version=1.4.0 -X main.revision=$(git rev-parse HEAD)" ./cmd/advicechat
//
// Without -X, version is "dev" and revision comes from the build's VCS
// information when Go recorded it ("unknown" otherwise).
var (
	version  = "dev"
	revision = ""
)

// buildInfo is what this binary is: its version, revision and Go version.
type buildInfo struct {
	Version, Revision, GoVersion string
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if b.Revision == "" {
		b.Revision = "unknown"
		if info, ok := debug.ReadBuildInfo(); ok {
			modified := false
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					b.Revision = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if modified && b.Revision != "unknown" {
				b.Revision += "-modified"
			}
		}
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("advicechat %s (revision %s, %s)", b.Version, b.Revision, b.GoVersion)
}

// register adds advicechat_build_info, always 1, with the build as labels.
func (b buildInfo) register(reg prometheus.Registerer) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "advicechat_build_info",
		Help: "Always 1; the labels say which build runs: version (set at build time), VCS revision and Go version.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	reg.MustRegister(g)
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "advicechat version: unexpected argument %q\n", args[0])
		return 2
	}
	fmt.Fprintln(stdout, currentBuild())
	return 0
}
