package main

import (
	"context"
	"sync"
)

// group runs functions with at most limit at once; Wait returns the first
// error, and the group's context ends with it.
type group struct {
	wg     sync.WaitGroup
	sem    chan struct{}
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context, limit int) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{sem: make(chan struct{}, limit), cancel: cancel}, ctx
}

func (g *group) Go(fn func() error) {
	g.sem <- struct{}{}
	g.wg.Add(1)
	go func() {
		defer func() { <-g.sem; g.wg.Done() }()
		if err := fn(); err != nil {
			g.once.Do(func() { g.err = err; g.cancel() })
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
