package redisstore

// MaxRunningAppends is how many append runs go out before the next ones
// queue for a batch.
const MaxRunningAppends = maxRunning

// WatchAppends has queued told the append queue's length after each run
// queued, and batched the size of each batch sent.
func (s *Store) WatchAppends(queued, batched func(n int)) {
	s.app.queued, s.app.batched = queued, batched
}
