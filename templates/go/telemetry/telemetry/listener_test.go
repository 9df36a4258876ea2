package telemetry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, handler http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodPost, "/telemetry", strings.NewReader(body)))
	return recorder
}

func TestListenerQueuesRecordsAsReceived(t *testing.T) {
	q := NewQueue(100, 1<<20)
	listener := NewListener(q, NewOwnOutput("my-ext"))
	body := `[
		{"time":"2026-01-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"r1","version":"$LATEST"}},
		{"time":"2026-01-01T00:00:00.001Z","type":"function","record":"hello\n"},
		{"time":"2026-01-01T00:00:00.002Z","type":"extension","record":"another extension's line"}
	]`
	if response := post(t, listener, body); response.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", response.Code)
	}
	batch := q.Take(100, 1<<20)
	if len(batch) != 3 {
		t.Fatalf("queued %d records, want 3", len(batch))
	}
	if batch[0].Type != "platform.start" || string(batch[0].Record) != `{"requestId":"r1","version":"$LATEST"}` {
		t.Errorf("first record = %+v", batch[0])
	}
	if batch[1].Type != "function" || string(batch[1].Record) != `"hello\n"` {
		t.Errorf("second record = %+v", batch[1])
	}
	if counts := listener.Counts(); counts != (ListenerCounts{Received: 3}) {
		t.Errorf("Counts = %+v", counts)
	}
	select {
	case <-listener.Arrivals():
	default:
		t.Error("no arrival signalled")
	}
}

func TestListenerSkipsOwnOutput(t *testing.T) {
	q := NewQueue(100, 1<<20)
	listener := NewListener(q, NewOwnOutput("my-ext"))
	// What Lambda makes of our own lines: a log line and a line of the stdout
	// sink, as text (escaped in a string) and as an object (JSON log format).
	ownLog := `{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"starting","extension":"my-ext"}`
	ownSink := `{"extension":"my-ext","time":"2026-01-01T00:00:00.000Z","type":"function","record":"hello"}`
	records := []Record{
		{Time: "t", Type: "extension", Record: mustJSON(t, ownLog)},
		{Time: "t", Type: "extension", Record: mustJSON(t, ownSink)},
		{Time: "t", Type: "extension", Record: json.RawMessage(ownSink)},
		// Spaced JSON, as another encoder (or a pretty-printer) writes it.
		{Time: "t", Type: "extension", Record: mustJSON(t, `{"level": "INFO", "extension": "my-ext"}`+"\n")},
		{Time: "t", Type: "extension", Record: json.RawMessage(`{"level": "INFO", "extension" : "my-ext"}`)},
		{Time: "t", Type: "extension", Record: json.RawMessage(`{"timestamp":"t","level":"INFO","message":` + string(mustJSON(t, `{"extension": "my-ext"}`)) + `}`)},
		{Time: "t", Type: "extension", Record: mustJSON(t, `{"level":"INFO","extension":"my-ext-2"}`)},
		// Another extension's line that merely quotes ours is not ours.
		{Time: "t", Type: "extension", Record: mustJSON(t, `{"extension":"other","msg":"saw {\"extension\":\"my-ext\"}"}`)},
		{Time: "t", Type: "extension", Record: mustJSON(t, `plain text from another extension`)},
		// A function may print anything, even our marker: it is still shipped.
		{Time: "t", Type: "function", Record: mustJSON(t, ownSink)},
	}
	body, _ := json.Marshal(records)
	if response := post(t, listener, string(body)); response.Code != http.StatusOK {
		t.Fatalf("status %d", response.Code)
	}
	batch := q.Take(100, 1<<20)
	var kept []string
	for _, record := range batch {
		kept = append(kept, record.Type+" "+string(record.Record))
	}
	if len(batch) != 4 || batch[0].Type != "extension" || batch[3].Type != "function" {
		t.Errorf("kept %q, want my-ext-2's line, the line quoting ours, the plain line and the function's line", kept)
	}
	if counts := listener.Counts(); counts.OwnLines != 6 || counts.Received != 4 {
		t.Errorf("Counts = %+v, want 6 own lines skipped and 4 received", counts)
	}
}

func TestListenerAnswersAtOnceWhenTheQueueIsFull(t *testing.T) {
	q := NewQueue(100, 1<<20)
	listener := NewListener(q, NewOwnOutput("my-ext"))
	server := httptest.NewServer(listener)
	t.Cleanup(server.Close)

	var batch strings.Builder
	batch.WriteString("[")
	for index := 0; index < 1000; index++ {
		if index > 0 {
			batch.WriteString(",")
		}
		fmt.Fprintf(&batch, `{"time":"2026-01-01T00:00:00.000Z","type":"function","record":"line %d"}`, index)
	}
	batch.WriteString("]")
	body := batch.String()
	for round := 0; round < 20; round++ {
		start := time.Now()
		response, err := http.Post(server.URL+"/telemetry", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		response.Body.Close()
		if response.StatusCode != http.StatusOK {
			t.Fatalf("round %d: status %d", round, response.StatusCode)
		}
		// Generous for a loaded CI machine; a listener that waited on
		// anything would take seconds.
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Fatalf("round %d took %v with a full queue", round, elapsed)
		}
	}
	if records, _ := q.Len(); records != 100 {
		t.Errorf("queue holds %d records, want its limit of 100", records)
	}
	if dropped := q.Dropped().Records; dropped != 20*1000-100 {
		t.Errorf("dropped %d records, want %d", dropped, 20*1000-100)
	}
}

func TestListenerRejectsWhatIsNotABatch(t *testing.T) {
	q := NewQueue(100, 1<<20)
	listener := NewListener(q, NewOwnOutput("my-ext"))
	for _, body := range []string{`{"time":"t"}`, `[{"time":1}]`, `[{"time":"t","type":"function","record":"x"}`, ``} {
		if response := post(t, listener, body); response.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, response.Code)
		}
	}
	if records, _ := q.Len(); records != 0 {
		t.Errorf("queued %d records from malformed batches", records)
	}
	if counts := listener.Counts(); counts.Rejected != 4 {
		t.Errorf("Rejected = %d, want 4", counts.Rejected)
	}
	recorder := httptest.NewRecorder()
	listener.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/telemetry", nil))
	if recorder.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", recorder.Code)
	}
}

func mustJSON(t *testing.T, text string) json.RawMessage {
	t.Helper()
	encoded, err := json.Marshal(text)
	if err != nil {
		t.Fatal(err)
	}
	return encoded
}

// TestListenerCountsWhatLambdaDropped: platform.logsDropped says how many
// records Lambda dropped before delivering; they are counted (the totals
// warn about them) and the record itself is shipped like any other.
func TestListenerCountsWhatLambdaDropped(t *testing.T) {
	q := NewQueue(100, 1<<20)
	listener := NewListener(q, NewOwnOutput("my-ext"))
	body := `[
		{"time":"2026-01-01T00:00:00.000Z","type":"platform.logsDropped","record":{"droppedBytes":98304,"droppedRecords":120,"reason":"Consumer seems to have fallen behind as it has not acknowledged receipt of logs."}},
		{"time":"2026-01-01T00:00:00.001Z","type":"function","record":{"droppedRecords":5}},
		{"time":"2026-01-01T00:00:00.002Z","type":"platform.logsDropped","record":{"droppedRecords":"many"}},
		{"time":"2026-01-01T00:00:00.003Z","type":"platform.logsDropped","record":{"droppedRecords":3}}
	]`
	if response := post(t, listener, body); response.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", response.Code)
	}
	if counts := listener.Counts(); counts.DroppedByLambda != 123 || counts.Received != 4 {
		t.Errorf("Counts = %+v, want 123 dropped by Lambda (a function line or a malformed count is not one) and all 4 records received", counts)
	}
	if queued, _ := q.Len(); queued != 4 {
		t.Errorf("%d records queued, want the platform.logsDropped records shipped too", queued)
	}
}
