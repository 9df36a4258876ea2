package store

import (
	"context"
	"sync"
)

// Group makes concurrent calls for one key share a single run of fetch: a
// hundred requests for a cold secret make one call to AWS, not a hundred.
// (golang.org/x/sync/singleflight does the same; this is the part we need,
// without the dependency.)
type Group struct {
	mu      sync.Mutex
	flights map[string]*flight
}

type flight struct {
	done   chan struct{}
	result any
	err    error
}

// Do runs fetch for key unless a run for key is already in flight, and
// returns that run's result. fetch runs with its own context, not the
// caller's: a caller that gives up (its ctx ends) stops waiting, but the
// run goes on for the others. shared reports whether the result came from
// another caller's run.
func (g *Group) Do(ctx context.Context, key string, fetch func() (any, error)) (result any, err error, shared bool) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = make(map[string]*flight)
	}
	if running, found := g.flights[key]; found {
		g.mu.Unlock()
		select {
		case <-running.done:
			return running.result, running.err, true
		case <-ctx.Done():
			return nil, ctx.Err(), true
		}
	}
	started := &flight{done: make(chan struct{})}
	g.flights[key] = started
	g.mu.Unlock()

	go func() {
		defer func() {
			g.mu.Lock()
			delete(g.flights, key)
			g.mu.Unlock()
			close(started.done)
		}()
		started.result, started.err = fetch()
	}()
	select {
	case <-started.done:
		return started.result, started.err, false
	case <-ctx.Done():
		return nil, ctx.Err(), false
	}
}
