package chat

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: every
// goroutine a test starts around the hub must end on its context or its
// feed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
