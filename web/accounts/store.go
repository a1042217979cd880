package accounts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// maxHashing bounds how many argon2id computations run at once: each takes
// 19 MiB, so a burst of logins must wait instead of exhausting memory.
const maxHashing = 2

// dummyHash is verified for unknown usernames so that they take as long as a
// wrong password. It uses the default parameters; no password is known for it.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$tqPP9P3DJHit4kKGeP/YtA$+HWA8D8Ylb00cTM0MLY6Tuq0fm2XFO0JPVZHdeajjrY"

// Store is what the web server uses to log advisors in. It re-reads the
// accounts file when it changes, so accounts added with `advicechat advisor`
// work without a restart. It is safe for concurrent use.
type Store struct {
	path  string
	extra []Account
	sem   chan struct{}

	log *slog.Logger // nil: refused reloads are not logged

	mu     sync.Mutex
	file   *File // the last copy of the file that loaded without error
	stamp  fileStamp
	loaded bool
	err    error
}

// fileStamp tells whether the accounts file changed since it was read.
type fileStamp struct {
	missing bool
	modTime time.Time
	size    int64
	mode    fs.FileMode // a chmod changes neither time nor size
}

func (s fileStamp) equal(o fileStamp) bool {
	return s.missing == o.missing && s.modTime.Equal(o.modTime) && s.size == o.size && s.mode == o.mode
}

// NewStore returns a Store reading the accounts file at path, which may be
// "" for none. The extra accounts are held only in memory (the demo advisor
// in embedded mode) and take precedence over file accounts of the same name.
func NewStore(path string, extra ...Account) *Store {
	s := &Store{
		path:  path,
		sem:   make(chan struct{}, maxHashing),
		file:  &File{},
		extra: make([]Account, len(extra)),
	}
	for i, a := range extra {
		s.extra[i] = a.clone()
	}
	return s
}

// Authenticate returns the account if username and password match. An
// unknown username and a wrong password both give ErrInvalidCredentials and
// take about as long. It waits for a hashing slot and returns ctx's error if
// ctx ends first.
func (s *Store) Authenticate(ctx context.Context, username, password string) (Account, error) {
	a, ok := s.Lookup(NormalizeUsername(username))
	hash := dummyHash
	if ok {
		hash = a.PasswordHash
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return Account{}, fmt.Errorf("authenticate: %w", ctx.Err())
	}
	match, err := VerifyPassword(hash, password)
	<-s.sem
	if err != nil {
		return Account{}, fmt.Errorf("authenticate: %w", err)
	}
	if !ok || !match {
		return Account{}, ErrInvalidCredentials
	}
	return a, nil
}

// Lookup returns the current account for username, re-reading the file if
// it changed, so the console can pick up new skills or capacity.
func (s *Store) Lookup(username string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	if i := slices.IndexFunc(s.extra, func(a Account) bool { return a.Username == username }); i >= 0 {
		return s.extra[i].clone(), true
	}
	return s.file.Find(username)
}

// Count returns how many accounts can log in.
func (s *Store) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	n := len(s.extra)
	for _, a := range s.file.Accounts {
		if !slices.ContainsFunc(s.extra, func(e Account) bool { return e.Username == a.Username }) {
			n++
		}
	}
	return n
}

// Err returns why the accounts file could not be read the last time it
// changed, or nil. While it is non-nil the Store uses the last good copy;
// the server can report it at start, since Authenticate cannot.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	return s.err
}

// refresh re-reads the file if its size or modification time changed. A
// file that fails to load leaves the last good copy in place; the stamp is
// still recorded so a broken file is not re-parsed on every login.
// s.mu must be held.
func (s *Store) refresh() {
	if s.path == "" {
		return
	}
	var stamp fileStamp
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		stamp.missing = true
	case err != nil:
		s.err = fmt.Errorf("load accounts: %w", err)
		return
	default:
		stamp.modTime, stamp.size, stamp.mode = fi.ModTime(), fi.Size(), fi.Mode()
	}
	if s.loaded && stamp.equal(s.stamp) {
		return
	}
	s.stamp, s.loaded = stamp, true
	f, err := Load(s.path)
	if err != nil {
		if s.log != nil && (s.err == nil || s.err.Error() != err.Error()) {
			s.log.Error("accounts file not reloaded; the last good copy stays in use", "err", err)
		}
		s.err = err
		return
	}
	s.file, s.err = f, nil
}

// SetLogger makes the Store log a reload it refused (a broken file, or one
// group or others may write), once per change.
func (s *Store) SetLogger(l *slog.Logger) {
	s.mu.Lock()
	s.log = l
	s.mu.Unlock()
}
