package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// ADVICECHAT_CPUPROFILE=FILE makes the service write a CPU profile of its
// run to FILE, ended by SIGTERM or SIGINT, for `go tool pprof`: the
// benchmark (cmd/advicechat-bench -cpuprofile) sets it. It is a
// developer's tool, not a setting of the service, so config does not read
// it.
func init() {
	path := os.Getenv("ADVICECHAT_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "advicechat: ADVICECHAT_CPUPROFILE: %v\n", err)
		os.Exit(2)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "advicechat: ADVICECHAT_CPUPROFILE: %v\n", err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		// The profile ends where the shutdown begins.
		pprof.StopCPUProfile()
		_ = f.Close()
	}()
}
