package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// system is what a scenario runs against: advicechat, or the bare relay.
type system interface {
	name() string
	// pairs connects n pairs that can talk; done closes them.
	pairs(ctx context.Context, n int) (ps []pair, done func(), err error)
	// admit connects n sockets at once, with advisors free advisors for
	// advicechat, and returns how long until every pair that can form
	// had its joined on both sides, and how many pairs that is.
	admit(ctx context.Context, n, advisors int) (time.Duration, int, error)
	// idle opens n idle sockets (waiting visitors); done closes them.
	// perStart, when not nil, is called after every step sockets with
	// how many are open.
	idle(ctx context.Context, n, step int, perStart func(open int)) (done func(), err error)
	// procs are the server's processes: CPU and memory are theirs.
	procs() []*proc
	redis() *redisServer
}

// dialers bounds how many handshakes run at once.
const dialers = 64

// ---- the bare relay

type relaySystem struct{ r *relay }

func (s *relaySystem) name() string        { return "bare relay" }
func (s *relaySystem) procs() []*proc      { return []*proc{s.r.proc} }
func (s *relaySystem) redis() *redisServer { return nil }

var pairSeq int

func (s *relaySystem) dialPairs(ctx context.Context, n int) ([]*relayEnd, []*relayEnd, error) {
	base := pairSeq
	pairSeq += n
	as, bs := make([]*relayEnd, n), make([]*relayEnd, n)
	g, gctx := newGroup(ctx, dialers)
	for i := range n {
		g.Go(func() error {
			var err error
			if as[i], err = dialRelay(gctx, s.r.url, base+i, "a", 2*i); err != nil {
				return err
			}
			bs[i], err = dialRelay(gctx, s.r.url, base+i, "b", 2*i+1)
			return err
		})
	}
	err := g.Wait()
	if err == nil {
		for i := range n {
			if err = waitJoined(ctx, as[i].joined, bs[i].joined); err != nil {
				break
			}
		}
	}
	return as, bs, err
}

// closeEnds closes every socket of the lists that was opened.
func closeEnds[E interface {
	comparable
	close()
}](lists ...[]E) {
	var none E
	for _, l := range lists {
		for _, e := range l {
			if e != none {
				e.close()
			}
		}
	}
}

func waitJoined(ctx context.Context, chs ...chan struct{}) error {
	for _, ch := range chs {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Minute):
			return errors.New("no joined after 2 minutes")
		}
	}
	return nil
}

func (s *relaySystem) pairs(ctx context.Context, n int) ([]pair, func(), error) {
	as, bs, err := s.dialPairs(ctx, n)
	if err != nil {
		closeEnds(as, bs)
		return nil, nil, err
	}
	ps := make([]pair, n)
	for i := range n {
		ps[i] = pair{as[i], bs[i]}
	}
	return ps, func() { closeEnds(as, bs) }, nil
}

// admit for the relay: the n peers are connected first (the advisors on
// duty), then n sockets connect at once, and each pair is done when both
// sides have their joined.
func (s *relaySystem) admit(ctx context.Context, n, _ int) (time.Duration, int, error) {
	dial := func(ctx context.Context, i int, side string, seq int) (*relayEnd, error) {
		return dialRelay(ctx, s.r.url, i, side, seq)
	}
	return admitPeers(ctx, n, dial, func(peer, sock *relayEnd) []chan struct{} { return []chan struct{}{sock.joined, peer.joined} })
}

// admitPeers is admit for a peer system: n peers ("b") are connected
// first, then the clock starts and n sockets ("a") connect at once; pair i
// is done when every channel joined gives for it is closed. dial makes
// pair i's end of side with its sequence number.
func admitPeers[E interface {
	comparable
	close()
}](ctx context.Context, n int, dial func(ctx context.Context, i int, side string, seq int) (E, error), joined func(peer, sock E) []chan struct{}) (time.Duration, int, error) {
	base := pairSeq
	pairSeq += n
	peers, socks := make([]E, n), make([]E, n)
	defer closeEnds(peers, socks)
	g, gctx := newGroup(ctx, dialers)
	for i := range n {
		g.Go(func() (err error) { peers[i], err = dial(gctx, base+i, "b", 2*i+1); return })
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	g, gctx = newGroup(ctx, dialers)
	for i := range n {
		g.Go(func() (err error) { socks[i], err = dial(gctx, base+i, "a", 2*i); return })
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	for i := range n {
		if err := waitJoined(ctx, joined(peers[i], socks[i])...); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(t0), n, nil
}

func (s *relaySystem) idle(ctx context.Context, n, step int, perStep func(int)) (func(), error) {
	base := pairSeq
	pairSeq += n
	socks, err := openInSteps(ctx, n, step, func(ctx context.Context, i int) (*relayEnd, error) {
		return dialRelay(ctx, s.r.url, base+i, "a", i)
	}, perStep)
	done := func() { closeEnds(socks) }
	if err != nil {
		done()
		return nil, err
	}
	return done, nil
}

// openInSteps opens n sockets with dial, step at a time (dialers of them
// at once), and calls perStep, if not nil, with how many are open after
// each step. On an error it returns those opened so far, to be closed.
func openInSteps[E any](ctx context.Context, n, step int, dial func(context.Context, int) (E, error), perStep func(int)) ([]E, error) {
	socks := make([]E, 0, n)
	for len(socks) < n {
		k := min(step, n-len(socks))
		batch := make([]E, k)
		ok := make([]bool, k)
		g, gctx := newGroup(ctx, dialers)
		for i := range k {
			idx := len(socks) + i
			g.Go(func() (err error) {
				batch[i], err = dial(gctx, idx)
				ok[i] = err == nil
				return err
			})
		}
		err := g.Wait()
		for i, e := range batch {
			if ok[i] {
				socks = append(socks, e)
			}
		}
		if err != nil {
			return socks, err
		}
		if perStep != nil {
			perStep(len(socks))
		}
	}
	return socks, nil
}

// ---- advicechat

type appSystem struct {
	app      *app
	accounts []account
	cookies  []*http.Cookie
	// visitorSeq spreads visitors over source addresses across phases.
	visitorSeq int
}

func (s *appSystem) name() string        { return "advicechat" }
func (s *appSystem) procs() []*proc      { return []*proc{s.app.proc, s.app.redis.proc} }
func (s *appSystem) redis() *redisServer { return s.app.redis }

// makeAccounts adds n advisor accounts with the advisor command, each
// taking up to 20 conversations, with a TOTP second factor.
func makeAccounts(bin string, env []string, accountsFile string, n int) ([]account, error) {
	var as []account
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("bench%d", i)
		cmd := exec.Command(bin, "advisor", "add", "-password-stdin", "-totp", "-max", "20", "-languages", "en", "-audiences", "public", name)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(benchPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("advicechat advisor add %s: %v\n%s", name, err, out)
		}
		as = append(as, account{name: name, password: benchPassword})
	}
	secrets, err := readAccountSecrets(accountsFile)
	if err != nil {
		return nil, err
	}
	for i := range as {
		as[i].secret = secrets[as[i].name]
	}
	return as, nil
}

// loginAll logs every account in once; the sessions serve the whole run.
func (s *appSystem) loginAll(ctx context.Context) error {
	s.cookies = make([]*http.Cookie, len(s.accounts))
	g, gctx := newGroup(ctx, 4)
	for i, a := range s.accounts {
		g.Go(func() (err error) { s.cookies[i], err = login(gctx, s.app.url, a); return })
	}
	return g.Wait()
}

// advisors connects k advisors and puts them on duty.
func (s *appSystem) advisors(ctx context.Context, k int) ([]*advisor, error) {
	if k > len(s.cookies) {
		return nil, fmt.Errorf("%d advisors wanted, %d accounts made", k, len(s.cookies))
	}
	out := make([]*advisor, k)
	g, gctx := newGroup(ctx, dialers)
	for i := range k {
		g.Go(func() (err error) { out[i], err = dialAdvisor(gctx, s.app.url, s.cookies[i]); return })
	}
	err := g.Wait()
	if err != nil {
		s.leave(out, nil)
	}
	return out, err
}

// leave ends the visitors' conversations and takes the advisors off
// duty, so the next phase finds an empty queue.
func (s *appSystem) leave(as []*advisor, vs []*visitor) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, dialers)
	for _, v := range vs {
		if v == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = writeJSON(v.c, struct {
				Type string `json:"type"`
			}{"end"})
			select {
			case <-v.closed:
			case <-time.After(30 * time.Second):
			}
			v.close()
		}()
	}
	wg.Wait()
	for _, a := range as {
		if a == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.offDuty()
			a.close()
		}()
	}
	wg.Wait()
}

// visitors connects n visitors and starts their conversations, step at
// a time; after each step perStep is told how many have started.
func (s *appSystem) visitors(ctx context.Context, n, step int, perStep func(int)) ([]*visitor, error) {
	vs := make([]*visitor, 0, n)
	for len(vs) < n {
		k := min(step, n-len(vs))
		batch := make([]*visitor, k)
		g, gctx := newGroup(ctx, dialers)
		for i := range k {
			idx := s.visitorSeq
			s.visitorSeq++
			g.Go(func() error {
				v, err := dialVisitor(gctx, s.app.url, idx)
				if err != nil {
					return err
				}
				batch[i] = v
				if err := v.start(); err != nil {
					return err
				}
				select {
				case <-v.started:
				case <-gctx.Done():
					return gctx.Err()
				}
				if f, _ := v.failed.Load().(string); f != "" {
					return fmt.Errorf("visitor: %s", f)
				}
				return nil
			})
		}
		err := g.Wait()
		for _, v := range batch {
			if v != nil {
				vs = append(vs, v)
			}
		}
		if err != nil {
			return vs, err
		}
		if perStep != nil {
			perStep(len(vs))
		}
	}
	return vs, nil
}

func (s *appSystem) pairs(ctx context.Context, n int) ([]pair, func(), error) {
	as, err := s.advisors(ctx, (n+19)/20)
	if err != nil {
		return nil, nil, err
	}
	vs, err := s.visitors(ctx, n, n, nil)
	done := func() { s.leave(as, vs) }
	if err != nil {
		done()
		return nil, nil, err
	}
	// Every visitor joined, and every conversation is on its advisor's
	// page with its joined entry.
	byConv := map[string]*advConv{}
	deadline := time.After(2 * time.Minute)
	for len(byConv) < n {
		progress := false
		for _, a := range as {
			select {
			case id := <-a.joined:
				byConv[id] = a.conv(id)
				progress = true
			default:
			}
		}
		if !progress {
			select {
			case <-deadline:
				done()
				return nil, nil, fmt.Errorf("%d of %d conversations joined after 2 minutes", len(byConv), n)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	ps := make([]pair, n)
	for i, v := range vs {
		select {
		case <-v.joined:
		case <-time.After(2 * time.Minute):
			done()
			return nil, nil, errors.New("a visitor did not see its advisor join")
		}
		c := byConv[v.conversation()]
		if c == nil {
			done()
			return nil, nil, errors.New("a visitor's conversation is on no advisor's page")
		}
		ps[i] = pair{v, c}
	}
	return ps, done, nil
}

func (s *appSystem) admit(ctx context.Context, n, advisors int) (time.Duration, int, error) {
	as, err := s.advisors(ctx, advisors)
	if err != nil {
		return 0, 0, err
	}
	want := min(n, 20*advisors)
	t0 := time.Now()
	var vs []*visitor
	var verr error
	dialed := make(chan struct{})
	go func() {
		vs, verr = s.visitors(ctx, n, n, nil)
		close(dialed)
	}()
	joined := map[string]bool{}
	deadline := time.After(3 * time.Minute)
	for len(joined) < want {
		progress := false
		for _, a := range as {
			select {
			case id := <-a.joined:
				joined[id] = true
				progress = true
			default:
			}
		}
		if !progress {
			select {
			case <-deadline:
				<-dialed
				s.leave(as, vs)
				return 0, 0, fmt.Errorf("%d of %d conversations joined after 3 minutes", len(joined), want)
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	<-dialed
	if verr != nil {
		s.leave(as, vs)
		return 0, 0, verr
	}
	// The advisors' side is done; now the visitors' joined entries.
	for _, v := range vs {
		if !joined[v.conversation()] {
			continue
		}
		select {
		case <-v.joined:
		case <-time.After(2 * time.Minute):
			s.leave(as, vs)
			return 0, 0, errors.New("a visitor did not see its advisor join")
		}
	}
	took := time.Since(t0)
	s.leave(as, vs)
	return took, want, nil
}

func (s *appSystem) idle(ctx context.Context, n, step int, perStep func(int)) (func(), error) {
	vs, err := s.visitors(ctx, n, step, perStep)
	done := func() { s.leave(nil, vs) }
	if err != nil {
		done()
		return nil, err
	}
	return done, nil
}
