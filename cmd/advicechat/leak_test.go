package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: every app the
// tests start must stop completely.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
