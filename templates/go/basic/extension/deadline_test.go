package extension

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// armed reports whether ctx, from WithLazyDeadline, has created its timer.
func armed(ctx context.Context) bool {
	c := ctx.(*lazyDeadline)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.armed != nil
}

func TestLazyDeadlineEndsAtItsDeadline(t *testing.T) {
	deadline := time.Now().Add(20 * time.Millisecond)
	ctx, cancel := WithLazyDeadline(context.Background(), deadline)
	defer cancel()
	if got, ok := ctx.Deadline(); !ok || !got.Equal(deadline) {
		t.Errorf("Deadline() = %v, %v; want %v, true", got, ok, deadline)
	}
	if armed(ctx) {
		t.Error("Deadline() armed the timer")
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5 s after the deadline")
	}
	if time.Now().Before(deadline) {
		t.Error("Done closed before the deadline")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Errorf("Err() = %v, Cause = %v; want DeadlineExceeded", ctx.Err(), context.Cause(ctx))
	}
}

func TestLazyDeadlineCanceledBeforeUse(t *testing.T) {
	ctx, cancel := WithLazyDeadline(context.Background(), time.Now().Add(time.Hour))
	cancel()
	if armed(ctx) {
		t.Error("cancel armed the timer of a context nobody used")
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done not closed after cancel")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err() = %v, want Canceled", ctx.Err())
	}
	cancel() // a second cancel is harmless, as with context.WithDeadline
}

func TestLazyDeadlineCanceledAfterUse(t *testing.T) {
	ctx, cancel := WithLazyDeadline(context.Background(), time.Now().Add(time.Hour))
	done := ctx.Done()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after cancel")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err() = %v, want Canceled", ctx.Err())
	}
}

// TestLazyDeadlineFollowsParent: a SIGTERM cancels the run's context, and
// the invoke's work must hear of it, armed or not.
func TestLazyDeadlineFollowsParent(t *testing.T) {
	for _, useFirst := range []bool{false, true} {
		parent, stop := context.WithCancel(context.Background())
		ctx, cancel := WithLazyDeadline(parent, time.Now().Add(time.Hour))
		if useFirst {
			_ = ctx.Done()
		}
		stop()
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("used before the parent's cancel: %v; Done not closed", useFirst)
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err() = %v, want the parent's Canceled", ctx.Err())
		}
		cancel()
	}
}

func TestLazyDeadlineReportsAnEarlierParentDeadline(t *testing.T) {
	parentDeadline := time.Now().Add(time.Minute)
	parent, stop := context.WithDeadline(context.Background(), parentDeadline)
	defer stop()
	ctx, cancel := WithLazyDeadline(parent, parentDeadline.Add(time.Minute))
	defer cancel()
	if got, _ := ctx.Deadline(); !got.Equal(parentDeadline) {
		t.Errorf("Deadline() = %v, want the parent's %v", got, parentDeadline)
	}
}

// TestLazyDeadlineDerived: contexts derived from it, values and AfterFunc
// behave as they do under context.WithDeadline.
func TestLazyDeadlineDerived(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "value")
	ctx, cancel := WithLazyDeadline(parent, time.Now().Add(20*time.Millisecond))
	defer cancel()
	if got := ctx.Value(key{}); got != "value" {
		t.Errorf("Value = %v, want the parent's", got)
	}
	child, stopChild := context.WithCancel(ctx)
	defer stopChild()
	called := make(chan struct{})
	context.AfterFunc(ctx, func() { close(called) })
	for name, done := range map[string]<-chan struct{}{"derived context": child.Done(), "AfterFunc": called} {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s not ended 5 s after the deadline", name)
		}
	}
}

// TestLazyDeadlineConcurrentUse: the work may hand the context to several
// goroutines; run with -race.
func TestLazyDeadlineConcurrentUse(t *testing.T) {
	ctx, cancel := WithLazyDeadline(context.Background(), time.Now().Add(time.Hour))
	var group sync.WaitGroup
	channels := make([]<-chan struct{}, 8)
	for index := range channels {
		group.Add(1)
		go func(index int) {
			defer group.Done()
			channels[index] = ctx.Done()
			_ = ctx.Err()
		}(index)
	}
	group.Wait()
	cancel()
	for _, done := range channels {
		if done != channels[0] {
			t.Fatal("Done returned different channels")
		}
		<-done
	}
}
