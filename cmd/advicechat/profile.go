package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// ADVICECHAT_CPUPROFILE=FILE makes the service write a CPU profile of its
// run to FILE, for `go tool pprof`, until SIGUSR1 (or, at best, SIGTERM or
// SIGINT: the process may exit before the profile is out). The benchmark
// (cmd/advicechat-bench -cpuprofile) sets it and sends SIGUSR1 before it
// stops the service. It is a developer's tool, not a setting of the
// service, so config does not read it.
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
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		// The profile ends where the shutdown begins.
		pprof.StopCPUProfile()
		_ = f.Close()
	}()
}
