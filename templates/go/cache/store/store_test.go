package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestLRUExpiresButKeepsTheStaleValue(t *testing.T) {
	c := &clock{now: time.Unix(1000, 0)}
	cache := NewLRU(10, 1<<20, c.Now)
	cache.Put("k", []byte("v1"), time.Minute)
	if value, fresh, ok := cache.Get("k"); !ok || !fresh || string(value) != "v1" {
		t.Fatalf("Get = %q, %v, %v", value, fresh, ok)
	}
	c.now = c.now.Add(time.Minute)
	if value, fresh, ok := cache.Get("k"); !ok || fresh || string(value) != "v1" {
		t.Fatalf("after the TTL: Get = %q, fresh %v, ok %v; want the stale value, not fresh", value, fresh, ok)
	}
}

func TestLRUStaysWithinEntriesAndBytes(t *testing.T) {
	cache := NewLRU(3, 1<<20, time.Now)
	for _, key := range []string{"a", "b", "c"} {
		cache.Put(key, []byte(key), time.Minute)
	}
	cache.Get("a") // a is now the most recently used
	cache.Put("d", []byte("d"), time.Minute)
	if _, _, ok := cache.Get("b"); ok {
		t.Error("b, the least recently used, was not evicted")
	}
	if _, _, ok := cache.Get("a"); !ok || cache.Len() != 3 {
		t.Errorf("a evicted, or %d entries", cache.Len())
	}

	small := NewLRU(100, 3*(entryOverhead+1+100), time.Now)
	for _, key := range []string{"a", "b", "c", "d"} {
		small.Put(key, make([]byte, 100), time.Minute)
	}
	if small.Len() != 3 || small.Bytes() > 3*(entryOverhead+1+100) {
		t.Errorf("%d entries, %d bytes: over the byte bound", small.Len(), small.Bytes())
	}
	small.Put("huge", make([]byte, 10000), time.Minute)
	if _, _, ok := small.Get("huge"); ok {
		t.Error("a value larger than the whole cache was stored")
	}
	small.Put("a", []byte("x"), 0)
	if _, _, ok := small.Get("a"); ok {
		t.Error("a TTL of 0 stored a value")
	}
}

func TestLRUReplacingAKeyKeepsTheCount(t *testing.T) {
	cache := NewLRU(10, 1<<20, time.Now)
	cache.Put("k", make([]byte, 10), time.Minute)
	cache.Put("k", make([]byte, 20), time.Minute)
	if cache.Len() != 1 || cache.Bytes() != 1+20+entryOverhead {
		t.Errorf("%d entries, %d bytes", cache.Len(), cache.Bytes())
	}
	cache.Delete("k")
	if cache.Len() != 0 || cache.Bytes() != 0 {
		t.Errorf("after Delete: %d entries, %d bytes", cache.Len(), cache.Bytes())
	}
}

func TestGroupRunsOneFetchForConcurrentCallers(t *testing.T) {
	var group Group
	var runs, arrived atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]any, 100)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arrived.Add(1)
			results[i], _, _ = group.Do(context.Background(), "k", func() (any, error) {
				runs.Add(1)
				<-release
				return "value", nil
			})
		}()
	}
	// Every caller is at Do before the fetch may finish; the margin covers the
	// step from the count to the flight.
	for arrived.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("%d fetches, want 1", runs.Load())
	}
	for i, result := range results {
		if result != "value" {
			t.Fatalf("caller %d got %v", i, result)
		}
	}
}

func TestGroupCallerThatGivesUpDoesNotStopTheFetch(t *testing.T) {
	var group Group
	var finished atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	started := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err, _ := group.Do(ctx, "k", func() (any, error) {
			close(started)
			<-release
			finished.Store(true)
			return "value", nil
		})
		first <- err
	}()
	<-started
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that gave up got %v, want context.Canceled", err)
	}
	group.mu.Lock()
	_, running := group.flights["k"]
	group.mu.Unlock()
	if !running {
		t.Fatal("the fetch stopped with its only caller")
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		group.mu.Lock()
		_, running = group.flights["k"]
		group.mu.Unlock()
		if !running {
			break
		}
	}
	if running || !finished.Load() {
		t.Errorf("the fetch did not run to its end (running %v, finished %v)", running, finished.Load())
	}
}
