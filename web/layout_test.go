package web

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayout: the packages under web depend one way. The transport
// (socket) and the protocol know nothing of the surfaces built on them,
// and auth, accounts and hours are parts the surfaces use, never the
// other way round: none of them imports package web, and the transport
// imports no other part of web but the protocol.
func TestLayout(t *testing.T) {
	const mod = "github.com/advicechat/advicechat/"
	allowed := map[string][]string{
		"socket":   {"chat", "web/protocol"},
		"protocol": {"chat", "chat/keep", "routing"},
		"auth":     {"web/accounts"},
		"accounts": {},
		"hours":    {},
	}
	for dir, ok := range allowed {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in web/%s", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				own, isOurs := strings.CutPrefix(path, mod)
				if !isOurs {
					continue
				}
				fine := false
				for _, a := range ok {
					fine = fine || own == a
				}
				if !fine {
					t.Errorf("web/%s imports %s; it may import only %v of this module", f, own, ok)
				}
			}
		}
	}
}
