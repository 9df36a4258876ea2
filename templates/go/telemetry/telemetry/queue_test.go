package telemetry

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// logRecord is a function log line whose Size is exactly size bytes.
func logRecord(t *testing.T, index, size int) Record {
	t.Helper()
	record := Record{Time: "2026-01-01T00:00:00.000Z", Type: "function"}
	text := fmt.Sprintf("line %d ", index)
	padding := size - recordOverhead - len(record.Time) - len(record.Type) - len(text) - 2
	if padding < 0 {
		t.Fatalf("size %d is too small", size)
	}
	record.Record, _ = json.Marshal(text + strings.Repeat("x", padding))
	if record.Size() != size {
		t.Fatalf("built a record of %d bytes, want %d", record.Size(), size)
	}
	return record
}

func logRecords(t *testing.T, from, count, size int) []Record {
	records := make([]Record, count)
	for index := range records {
		records[index] = logRecord(t, from+index, size)
	}
	return records
}

// lines returns the text of each queued record, oldest first, emptying q.
func lines(t *testing.T, q *Queue) []string {
	t.Helper()
	var texts []string
	for _, record := range q.Take(1<<30, 1<<30) {
		var text string
		if err := json.Unmarshal(record.Record, &text); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, strings.TrimRight(text, "x"))
	}
	return texts
}

func TestQueueDropsOldestOverRecordLimit(t *testing.T) {
	q := NewQueue(3, 1<<20)
	q.Push(logRecords(t, 1, 2, 100))
	q.Push(logRecords(t, 3, 3, 100))
	if records, size := q.Len(); records != 3 || size != 300 {
		t.Errorf("Len = %d records, %d bytes; want 3, 300", records, size)
	}
	if got, want := lines(t, q), []string{"line 3 ", "line 4 ", "line 5 "}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("kept %q, want the newest %q", got, want)
	}
	if dropped := q.Dropped(); dropped != (DropCount{Records: 2, Bytes: 200}) {
		t.Errorf("Dropped = %+v, want 2 records, 200 bytes", dropped)
	}
}

func TestQueueDropsOldestOverByteLimit(t *testing.T) {
	q := NewQueue(1000, 1000)
	q.Push(logRecords(t, 1, 4, 200)) // 800 bytes
	q.Push([]Record{logRecord(t, 5, 500)})
	records, size := q.Len()
	if size > 1000 || records != 3 {
		t.Errorf("Len = %d records, %d bytes; want 3 records within 1000 bytes", records, size)
	}
	if got := lines(t, q); fmt.Sprint(got) != fmt.Sprint([]string{"line 3 ", "line 4 ", "line 5 "}) {
		t.Errorf("kept %q", got)
	}
	if dropped := q.Dropped(); dropped != (DropCount{Records: 2, Bytes: 400}) {
		t.Errorf("Dropped = %+v, want the 2 oldest records", dropped)
	}
}

func TestQueueDropsRecordLargerThanTheLimit(t *testing.T) {
	q := NewQueue(1000, 1000)
	q.Push(logRecords(t, 1, 2, 100))
	q.Push([]Record{logRecord(t, 3, 1001)})
	if got := lines(t, q); len(got) != 2 {
		t.Errorf("kept %q; an oversized record must not push out the others", got)
	}
	if dropped := q.Dropped(); dropped.Records != 1 || dropped.Bytes != 1001 {
		t.Errorf("Dropped = %+v, want the oversized record", dropped)
	}
}

func TestQueueTakeRespectsBatchLimits(t *testing.T) {
	q := NewQueue(100, 1<<20)
	q.Push(logRecords(t, 1, 10, 100))
	if batch := q.Take(4, 1<<20); len(batch) != 4 {
		t.Errorf("Take(4 records) returned %d", len(batch))
	}
	if batch := q.Take(100, 250); len(batch) != 2 {
		t.Errorf("Take(250 bytes) returned %d records of 100 bytes, want 2", len(batch))
	}
	if batch := q.Take(100, 50); len(batch) != 1 {
		t.Errorf("Take(50 bytes) returned %d records; a record larger than the batch limit must still go alone", len(batch))
	}
	if records, size := q.Len(); records != 3 || size != 300 {
		t.Errorf("Len = %d, %d after taking 7 of 10", records, size)
	}
	if batch := q.Take(100, 1<<20); len(batch) != 3 {
		t.Errorf("Take returned %d of the last 3", len(batch))
	}
	if batch := q.Take(100, 1<<20); batch != nil {
		t.Errorf("Take on an empty queue = %v", batch)
	}
}

func TestQueueRequeueGoesFirstAndStaysBounded(t *testing.T) {
	q := NewQueue(5, 1<<20)
	q.Push(logRecords(t, 1, 3, 100))
	batch := q.Take(3, 1<<20)
	q.Push(logRecords(t, 4, 3, 100))
	q.Requeue(batch)
	// 6 records for 5 places: the oldest, line 1, goes.
	if got, want := lines(t, q), []string{"line 2 ", "line 3 ", "line 4 ", "line 5 ", "line 6 "}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after requeue: %q, want %q", got, want)
	}
	if dropped := q.Dropped(); dropped.Records != 1 {
		t.Errorf("Dropped = %+v, want 1", dropped)
	}
}

func TestQueueRequeueIntoTheRoomItWasTakenFrom(t *testing.T) {
	q := NewQueue(100, 1<<20)
	q.Push(logRecords(t, 1, 10, 100))
	batch := q.Take(3, 1<<20)
	q.Requeue(batch)
	want := []string{"line 1 ", "line 2 ", "line 3 ", "line 4 ", "line 5 ", "line 6 ", "line 7 ", "line 8 ", "line 9 ", "line 10 "}
	if records, size := q.Len(); records != 10 || size != 1000 {
		t.Errorf("Len = %d records, %d bytes; want 10, 1000", records, size)
	}
	if got := lines(t, q); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after requeue: %q, want %q", got, want)
	}
	if dropped := q.Dropped(); dropped.Records != 0 {
		t.Errorf("Dropped = %+v, want none", dropped)
	}
}

func TestQueueStaysBoundedUnderConcurrentUse(t *testing.T) {
	q := NewQueue(500, 64<<10)
	burst := logRecords(t, 0, 10, 150)
	var wg sync.WaitGroup
	for writer := 0; writer < 4; writer++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 200; round++ {
				q.Push(burst)
				if records, size := q.Len(); records > 500 || size > 64<<10 {
					t.Errorf("queue holds %d records, %d bytes", records, size)
					return
				}
			}
		}()
	}
	taken := 0
	for round := 0; round < 200; round++ {
		taken += len(q.Take(50, 1<<20))
	}
	wg.Wait()
	queued, _ := q.Len()
	if total := int64(taken+queued) + q.Dropped().Records; total != 4*200*10 {
		t.Errorf("taken %d + queued %d + dropped %d = %d, want every one of %d records accounted for", taken, queued, q.Dropped().Records, total, 8000)
	}
}
