package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// maxBatchBody bounds one delivery. Lambda sends at most about twice the
// subscription's maxBytes (1 MiB at most) plus metadata; anything far larger
// is not Lambda.
const maxBatchBody = 8 << 20

// Listener is the HTTP handler Lambda POSTs telemetry batches to. It
// answers at once: the records go into the queue (which drops the oldest
// ones when full), and nothing on this path waits for a sink or logs, since
// a log line here would come back as a record of its own.
type Listener struct {
	queue *Queue
	own   OwnOutput

	received      atomic.Int64
	ownLines      atomic.Int64
	rejected      atomic.Int64
	lambdaDropped atomic.Int64
	arrivals      chan struct{}

	// runtimeDone holds the request IDs of the platform.runtimeDone records
	// delivered and not yet waited for (see WaitRuntimeDone); doneSignal
	// wakes the one waiter.
	doneMu      sync.Mutex
	runtimeDone map[string]struct{}
	doneSignal  chan struct{}
}

// maxRuntimeDoneKept bounds runtimeDone: IDs nobody waits for (when
// invokes do not wait, under the periodic strategy) are forgotten.
const maxRuntimeDoneKept = 64

// NewListener returns a listener that queues into queue and leaves out the
// records own matches.
func NewListener(queue *Queue, own OwnOutput) *Listener {
	return &Listener{
		queue: queue, own: own, arrivals: make(chan struct{}, 1),
		runtimeDone: map[string]struct{}{}, doneSignal: make(chan struct{}, 1),
	}
}

// ListenerCounts are the listener's totals since it was made.
type ListenerCounts struct {
	// Received counts records queued.
	Received int64
	// OwnLines counts extension records that were this extension's own output.
	OwnLines int64
	// Rejected counts deliveries that were not a JSON array of records.
	Rejected int64
	// DroppedByLambda sums the droppedRecords of platform.logsDropped
	// records: what Lambda dropped before delivering, because the listener
	// (or the extension) fell behind.
	DroppedByLambda int64
}

// Counts returns the listener's totals.
func (l *Listener) Counts() ListenerCounts {
	return ListenerCounts{Received: l.received.Load(), OwnLines: l.ownLines.Load(), Rejected: l.rejected.Load(), DroppedByLambda: l.lambdaDropped.Load()}
}

// Arrivals receives a value after a batch has been queued (one pending value
// at most, so a slow reader never blocks the listener).
func (l *Listener) Arrivals() <-chan struct{} {
	return l.arrivals
}

func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	records, err := decodeBatch(http.MaxBytesReader(w, r.Body, maxBatchBody))
	if err != nil {
		// Lambda retries failed deliveries; a malformed one would fail again,
		// so it is refused with a 4xx and counted, never logged from here.
		l.rejected.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	kept := records[:0]
	var doneIDs []string
	for index := range records {
		if l.own.Matches(&records[index]) {
			l.ownLines.Add(1)
			continue
		}
		switch records[index].Type {
		case logsDroppedType:
			l.lambdaDropped.Add(droppedRecords(records[index].Record))
		case runtimeDoneType:
			doneIDs = append(doneIDs, requestIDOf(records[index].Record))
		}
		kept = append(kept, records[index])
	}
	clear(records[len(kept):])
	l.queue.Push(kept)
	l.received.Add(int64(len(kept)))
	select {
	case l.arrivals <- struct{}{}:
	default:
	}
	// After the queue: whoever waits for the end of an invoke then finds
	// its records queued.
	if len(doneIDs) > 0 {
		l.doneMu.Lock()
		if len(l.runtimeDone)+len(doneIDs) > maxRuntimeDoneKept {
			clear(l.runtimeDone)
		}
		for _, id := range doneIDs {
			l.runtimeDone[id] = struct{}{}
		}
		l.doneMu.Unlock()
		select {
		case l.doneSignal <- struct{}{}:
		default:
		}
	}
	w.WriteHeader(http.StatusOK)
}

// WaitRuntimeDone waits until Lambda has delivered platform.runtimeDone for
// requestID, the end of that invoke's function code, and so every function
// log line of it; false when ctx ends first. One caller at a time.
func (l *Listener) WaitRuntimeDone(ctx context.Context, requestID string) bool {
	for {
		l.doneMu.Lock()
		_, done := l.runtimeDone[requestID]
		delete(l.runtimeDone, requestID)
		l.doneMu.Unlock()
		if done {
			return true
		}
		select {
		case <-l.doneSignal:
		case <-ctx.Done():
			return false
		}
	}
}

// runtimeDoneType marks the end of an invoke's function code. Lambda
// Managed Instances do not send it.
const runtimeDoneType = "platform.runtimeDone"

// requestIDOf reads requestId from a platform record; "" when missing.
func requestIDOf(record []byte) string {
	var fields struct {
		RequestID string `json:"requestId"`
	}
	_ = json.Unmarshal(record, &fields)
	return fields.RequestID
}

// logsDroppedType is the record Lambda sends instead of records it dropped.
const logsDroppedType = "platform.logsDropped"

// droppedRecords reads droppedRecords from a platform.logsDropped record; 0
// when it is missing or not a count.
func droppedRecords(record []byte) int64 {
	var fields struct {
		DroppedRecords int64 `json:"droppedRecords"`
	}
	if json.Unmarshal(record, &fields) != nil || fields.DroppedRecords < 0 {
		return 0
	}
	return fields.DroppedRecords
}

// decodeBatch reads a JSON array of records one element at a time, so the
// body is never held twice.
func decodeBatch(body io.Reader) ([]Record, error) {
	decoder := json.NewDecoder(body)
	token, err := decoder.Token()
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	if delimiter, ok := token.(json.Delim); !ok || delimiter != '[' {
		return nil, errors.New("batch: want a JSON array of records")
	}
	var records []Record
	for decoder.More() {
		var record Record
		if err := decoder.Decode(&record); err != nil {
			return nil, fmt.Errorf("batch record %d: %w", len(records), err)
		}
		records = append(records, record)
	}
	if _, err := decoder.Token(); err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	return records, nil
}
