package redisstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: the
// feed's goroutines must end on Close, the embedded server's ticker on
// Close, and every client a test opens must be closed. go-redis and
// miniredis leave nothing running once closed, so nothing is ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
