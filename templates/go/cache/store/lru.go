// Package store holds the extension's cache: a least-recently-used map
// bounded in entries and in bytes, whose entries expire, and Group, which
// makes concurrent misses for one key share a single fetch.
package store

import (
	"container/list"
	"sync"
	"time"
)

// entryOverhead is what an entry costs beyond its key and value (the map
// slot, the list element, the times), counted so that a flood of tiny values
// cannot grow the cache past its byte bound.
const entryOverhead = 128

// LRU is safe for concurrent use. An expired entry is not served as fresh,
// but it is kept until it is evicted or replaced, so that a caller that
// allows it can serve it when the source is unreachable (see Get).
type LRU struct {
	maxEntries int
	maxBytes   int
	now        func() time.Time

	mu      sync.Mutex
	order   *list.List // front: most recently used
	entries map[string]*list.Element
	bytes   int
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// NewLRU returns a cache that holds at most maxEntries entries and maxBytes
// bytes (keys, values and a fixed overhead per entry). now is the clock
// (time.Now outside tests).
func NewLRU(maxEntries, maxBytes int, now func() time.Time) *LRU {
	return &LRU{
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		now:        now,
		order:      list.New(),
		entries:    make(map[string]*list.Element),
	}
}

// Get returns the value stored under key, and whether it is still fresh. ok
// is false when there is no entry at all. The caller must not modify value.
func (c *LRU) Get(key string) (value []byte, fresh, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	element, found := c.entries[key]
	if !found {
		return nil, false, false
	}
	c.order.MoveToFront(element)
	stored := element.Value.(*entry)
	return stored.value, c.now().Before(stored.expires), true
}

// Put stores value under key until ttl has passed, evicting the least
// recently used entries to stay within the bounds. A value too large to fit
// on its own, or a ttl of zero, is not stored (and replaces nothing: an older
// entry for the key is dropped, so it is never served in its place).
func (c *LRU) Put(key string, value []byte, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if element, found := c.entries[key]; found {
		c.remove(element)
	}
	size := sizeOf(key, value)
	if ttl <= 0 || c.maxEntries <= 0 || size > c.maxBytes {
		return
	}
	for c.order.Len() >= c.maxEntries || c.bytes+size > c.maxBytes {
		c.remove(c.order.Back())
	}
	c.entries[key] = c.order.PushFront(&entry{key: key, value: value, expires: c.now().Add(ttl)})
	c.bytes += size
}

// Delete drops key's entry, if any.
func (c *LRU) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if element, found := c.entries[key]; found {
		c.remove(element)
	}
}

// Len and Bytes report the current size, for logs and tests.
func (c *LRU) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *LRU) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *LRU) remove(element *list.Element) {
	stored := c.order.Remove(element).(*entry)
	delete(c.entries, stored.key)
	c.bytes -= sizeOf(stored.key, stored.value)
}

func sizeOf(key string, value []byte) int {
	return len(key) + len(value) + entryOverhead
}
