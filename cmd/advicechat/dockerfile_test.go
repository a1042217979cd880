package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoFile reads a file at the repository's root.
func repoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goModVersion is the Go release a go.mod builds with: its toolchain line,
// or else its go line.
func goModVersion(t *testing.T, mod string) string {
	t.Helper()
	var goLine, toolchain string
	for line := range strings.Lines(mod) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "go" {
			goLine = f[1]
		}
		if len(f) == 2 && f[0] == "toolchain" {
			toolchain = strings.TrimPrefix(f[1], "go")
		}
	}
	if toolchain != "" {
		return toolchain
	}
	if goLine == "" {
		t.Fatal("go.mod has no go line")
	}
	return goLine
}

var (
	fromLine = regexp.MustCompile(`(?m)^FROM\s+(\S+)`)
	// A base image named by a full version tag, optionally pinned by
	// digest: name:tag[@sha256:64 hex].
	pinnedImage = regexp.MustCompile(`^[a-z0-9./-]+:[A-Za-z0-9._-]+(@sha256:[0-9a-f]{64})?$`)
)

// TestDockerfile checks what can be checked of the image without a
// container engine: the build stage's Go is the release go.mod names (a
// different one builds a different binary), every base image has a fixed
// tag (and a well-formed digest where one is given), the service's build
// is -trimpath with the version and revision stamped into the variables
// `advicechat version` prints, and accounts and secrets stay out of the
// build context.
func TestDockerfile(t *testing.T) {
	df := repoFile(t, "Dockerfile")
	want := goModVersion(t, repoFile(t, "go.mod"))
	if hc := goModVersion(t, repoFile(t, "deploy/healthcheck/go.mod")); hc != want {
		t.Errorf("deploy/healthcheck/go.mod builds with Go %s, go.mod with %s", hc, want)
	}

	froms := fromLine.FindAllStringSubmatch(df, -1)
	if len(froms) != 2 {
		t.Fatalf("%d FROM lines, want 2 (build and run)", len(froms))
	}
	for _, m := range froms {
		image := m[1]
		if !pinnedImage.MatchString(image) {
			t.Errorf("FROM %s: not a fixed tag (with an optional sha256 digest)", image)
		}
		tag := strings.SplitN(strings.SplitN(image, "@", 2)[0], ":", 2)[1]
		if tag == "latest" {
			t.Errorf("FROM %s: latest is not a pin", image)
		}
		if strings.HasPrefix(image, "golang:") {
			if v, _, _ := strings.Cut(tag, "-"); v != want {
				t.Errorf("FROM %s builds with Go %s; go.mod says %s", image, v, want)
			}
		}
	}
	if !strings.HasPrefix(froms[0][1], "golang:") {
		t.Errorf("the build stage is %s, want a golang image", froms[0][1])
	}

	// The service's go build line, continuation lines joined.
	build := ""
	joined := strings.ReplaceAll(df, "\\\n", " ")
	for line := range strings.Lines(joined) {
		if strings.Contains(line, "go build") && strings.Contains(line, "./cmd/advicechat") {
			build = line
		}
	}
	if build == "" {
		t.Fatal("no go build of ./cmd/advicechat in the Dockerfile")
	}
	// The variables exist: -X of a missing one is silently ignored.
	_, _ = version, revision
	for _, flag := range []string{"-trimpath", "-X main.version=${VERSION}", "-X main.revision=${REVISION}", "CGO_ENABLED=0"} {
		if !strings.Contains(build, flag) {
			t.Errorf("the service's build lacks %s: %s", flag, strings.TrimSpace(build))
		}
	}
	for _, arg := range []string{"ARG VERSION", "ARG REVISION"} {
		if !strings.Contains(df, arg) {
			t.Errorf("the Dockerfile has no %s", arg)
		}
	}
	mk := repoFile(t, "Makefile")
	if !strings.Contains(mk, "-X main.version=") || !strings.Contains(mk, "--build-arg VERSION=") {
		t.Error("the Makefile's build and docker targets do not stamp the version")
	}

	ignore := strings.Fields(repoFile(t, ".dockerignore"))
	for _, p := range []string{".git", "**/accounts.json", "deploy/secrets", "deploy/accounts"} {
		if !slices.Contains(ignore, p) {
			t.Errorf(".dockerignore lacks %s", p)
		}
	}
}
