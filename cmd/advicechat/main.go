// Command advicechat runs the anonymous advice chat service and manages its
// advisor accounts.
//
//	advicechat [serve]          run the service (configured by ADVICECHAT_* variables)
//	advicechat advisor ...      manage advisor accounts
//	advicechat version          print the version, revision and Go version
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/advicechat/advicechat/cmd/advicechat/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: advicechat [serve]        run the service
       advicechat advisor ...     manage advisor accounts (advicechat advisor -h)
       advicechat version         print the version, revision and Go version

The service is configured by environment variables; see README.md.
`

// run is the whole program, so tests can start it on port 0.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		if len(args) > 0 {
			fmt.Fprintf(stderr, "advicechat serve: unexpected argument %q\n", args[0])
			return 2
		}
		cfg, err := config.Load(getenv)
		if err != nil {
			serveFailed(stderr, getenv, err)
			return 2
		}
		if err := serve(ctx, cfg, stdout); err != nil {
			serveFailed(stderr, getenv, err)
			return 1
		}
		return 0
	case "advisor":
		return runAdvisor(args, getenv, stdin, stdout, stderr)
	case "version", "-version", "--version":
		return runVersion(args, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "advicechat: unknown command %q\n%s", cmd, usage)
		return 2
	}
}

// serveFailed reports why the service stopped or could not start: a JSON
// log record when ADVICECHAT_LOG_FORMAT is json (even if another variable
// was invalid), so a log shipper parses every line; plain text otherwise.
func serveFailed(stderr io.Writer, getenv func(string) string, err error) {
	if getenv("ADVICECHAT_LOG_FORMAT") == "json" {
		slog.New(slog.NewJSONHandler(stderr, nil)).Error("advicechat stopped", "err", err.Error())
		return
	}
	fmt.Fprintf(stderr, "advicechat: %v\n", err)
}
