package telemetry

import "sync"

// Queue holds received records until they are shipped. It is bounded by a
// number of records and by their total size: when a push would exceed
// either, the oldest records are dropped and counted, so a dead destination
// costs data, never memory. It is safe for concurrent use.
type Queue struct {
	maxRecords int
	maxBytes   int

	mu      sync.Mutex
	records []Record // oldest first; records[:head] are already taken
	head    int
	bytes   int
	dropped DropCount
}

// DropCount counts records the queue had to drop.
type DropCount struct {
	Records int64
	Bytes   int64
}

// NewQueue returns a queue that holds at most maxRecords records and
// maxBytes bytes (as counted by Record.Size).
func NewQueue(maxRecords, maxBytes int) *Queue {
	return &Queue{maxRecords: maxRecords, maxBytes: maxBytes}
}

// Push appends records, dropping the oldest ones (queued or pushed) that do
// not fit. It never blocks on anything but the queue's own lock.
func (q *Queue) Push(records []Record) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, record := range records {
		size := record.Size()
		if size > q.maxBytes {
			// It would push out everything else and still not fit.
			q.countDrop(size)
			continue
		}
		q.records = append(q.records, record)
		q.bytes += size
	}
	q.trim()
}

// Take removes and returns the oldest records: at most maxRecords of them,
// and no more than maxBytes in total unless the first record alone is larger.
func (q *Queue) Take(maxRecords, maxBytes int) []Record {
	q.mu.Lock()
	defer q.mu.Unlock()
	count, size := 0, 0
	for q.head+count < len(q.records) && count < maxRecords {
		next := q.records[q.head+count].Size()
		if count > 0 && size+next > maxBytes {
			break
		}
		size += next
		count++
	}
	if count == 0 {
		return nil
	}
	batch := make([]Record, count)
	copy(batch, q.records[q.head:q.head+count])
	q.removeFront(count)
	q.bytes -= size
	return batch
}

// Requeue puts a batch that could not be shipped back in front of the queue,
// so it goes out first next time. If the queue filled up meanwhile, the
// oldest records, the batch's own first, are dropped.
//
// It works in place: against a dead destination it runs after every failed
// send, and a fresh copy of a full queue each time would be garbage the size
// of the queue, which the peak memory would show.
func (q *Queue) Requeue(batch []Record) {
	if len(batch) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head >= len(batch) {
		// Room in front, where the batch was taken from.
		q.head -= len(batch)
		copy(q.records[q.head:], batch)
	} else {
		live := len(q.records)
		q.records = append(q.records, batch...) // grows only when there is no spare capacity
		copy(q.records[q.head+len(batch):], q.records[q.head:live])
		copy(q.records[q.head:], batch)
	}
	for _, record := range batch {
		q.bytes += record.Size()
	}
	q.trim()
}

// Len returns the number of records queued and their size.
func (q *Queue) Len() (records, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.records) - q.head, q.bytes
}

// Dropped returns how many records the queue has dropped since it was made.
func (q *Queue) Dropped() DropCount {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// trim drops the oldest records until both limits hold.
func (q *Queue) trim() {
	count := 0
	for len(q.records)-q.head-count > q.maxRecords || q.bytes > q.maxBytes {
		size := q.records[q.head+count].Size()
		q.bytes -= size
		q.countDrop(size)
		count++
	}
	q.removeFront(count)
}

func (q *Queue) removeFront(count int) {
	// Clear the slots so the garbage collector can free the records now.
	clear(q.records[q.head : q.head+count])
	q.head += count
	if q.head == len(q.records) {
		q.records, q.head = q.records[:0], 0
	} else if q.head > len(q.records)/2 {
		// Compact once the taken prefix is the larger part, so the backing
		// array stays proportional to what is queued.
		q.records = append(q.records[:0], q.records[q.head:]...)
		clear(q.records[len(q.records):cap(q.records)])
		q.head = 0
	}
}

func (q *Queue) countDrop(size int) {
	q.dropped.Records++
	q.dropped.Bytes += int64(size)
}
