package telemetry

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDecodeBatch feeds the listener random delivery bodies. Decoding must
// never panic; the listener answers 200 exactly when the body is a batch and
// 400 otherwise; an accepted batch re-encodes to records that decode the same.
// Run it longer with: go test -run='^$' -fuzz=FuzzDecodeBatch -fuzztime=60s ./telemetry
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		`[{"time":"2022-10-12T00:00:00.000Z","type":"platform.start","record":{"requestId":"6f7f0961f83442118a7af6fe80b88d56","version":"$LATEST"}}]`,
		`[{"time":"2022-10-12T00:03:50.000Z","type":"function","record":"[INFO] Hello world, I am a function!"}]`,
		`[{"time":"2022-10-12T00:03:50.000Z","type":"extension","record":"{\"extension\":\"my-ext\",\"msg\":\"x\"}"}]`,
		`[{"time":"t","type":"function","record":{"message":"m","level":"INFO"}},{"type":"platform.report","record":{"metrics":{"durationMs":1.5}}}]`,
		`[]`,
		`[1]`,
		`{}`,
		`[{"record":`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		records, err := decodeBatch(bytes.NewReader(body))
		queue := NewQueue(1000, 1<<20)
		listener := NewListener(queue, NewOwnOutput("my-ext"))
		recorder := httptest.NewRecorder()
		listener.ServeHTTP(recorder, httptest.NewRequest(http.MethodPost, "/telemetry", bytes.NewReader(body)))
		if err != nil {
			if recorder.Code != http.StatusBadRequest {
				t.Fatalf("a body decodeBatch refuses (%v) got %d", err, recorder.Code)
			}
			return
		}
		if recorder.Code != http.StatusOK {
			t.Fatalf("a batch of %d records got %d: %s", len(records), recorder.Code, recorder.Body)
		}
		for index := range records {
			_ = records[index].Size()
			_ = NewOwnOutput("my-ext").Matches(&records[index])
		}
		encoded, err := json.Marshal(append([]Record{}, records...)) // an empty batch is [], not null
		if err != nil {
			t.Fatalf("cannot re-encode the batch decoded from %q: %v", body, err)
		}
		again, err := decodeBatch(bytes.NewReader(encoded))
		if err != nil || len(again) != len(records) {
			t.Fatalf("re-encoded batch %s decodes to %d records (%v), want %d", encoded, len(again), err, len(records))
		}
	})
}

// FuzzOwnOutputMatches checks that recognising the extension's own log lines
// never panics and never claims a record of another type, nor any record for an empty name.
// Run it longer with: go test -run='^$' -fuzz=FuzzOwnOutputMatches -fuzztime=60s ./telemetry
func FuzzOwnOutputMatches(f *testing.F) {
	f.Add("extension", []byte(`"{\"extension\":\"my-ext\",\"msg\":\"x\"}"`))
	f.Add("extension", []byte(`{"extension":"my-ext"}`))
	f.Add("extension", []byte(`{"message":"{\"extension\": \"my-ext\"}"}`))
	f.Add("function", []byte(`"{\"extension\":\"my-ext\"}"`))
	f.Add("extension", []byte(`"{\"extension\":\"my-ext-2\"}"`))
	f.Fuzz(func(t *testing.T, recordType string, raw []byte) {
		record := Record{Type: recordType, Record: json.RawMessage(raw)}
		if NewOwnOutput("my-ext").Matches(&record) && recordType != "extension" {
			t.Fatalf("claimed a %q record %q", recordType, raw)
		}
		if NewOwnOutput("").Matches(&record) {
			t.Fatalf("an empty name claimed %q", raw)
		}
	})
}
