package routing

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: the
// worker must end on its context, and every client a test opens must be
// closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
