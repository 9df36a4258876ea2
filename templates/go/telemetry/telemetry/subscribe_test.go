package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestSubscribeSendsTheSubscription(t *testing.T) {
	var method, path, contentType, identifier string
	var body map[string]any
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path = r.Method, r.URL.Path
		contentType = r.Header.Get("Content-Type")
		identifier = r.Header.Get("Lambda-Extension-Identifier")
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("body: %v", err)
		}
		io.WriteString(w, `"OK"`)
	}))
	t.Cleanup(server.Close)

	subscription := NewSubscription(4243, "/telemetry", Buffering{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 100})
	delivering, err := Subscribe(context.Background(), server.Client(), strings.TrimPrefix(server.URL, "http://"), "5e2f7a3c-0000-4000-8000-000000000001", subscription)
	if err != nil || !delivering {
		t.Fatalf("Subscribe = %v, %v; want true, nil", delivering, err)
	}
	if method != http.MethodPut || path != "/2022-07-01/telemetry" {
		t.Errorf("sent %s %s, want PUT /2022-07-01/telemetry", method, path)
	}
	if contentType != "application/json" || identifier != "5e2f7a3c-0000-4000-8000-000000000001" {
		t.Errorf("Content-Type %q, Lambda-Extension-Identifier %q", contentType, identifier)
	}
	want := map[string]any{
		"schemaVersion": "2022-12-13",
		"types":         []any{"platform", "function", "extension"},
		"buffering":     map[string]any{"maxItems": 1000.0, "maxBytes": 262144.0, "timeoutMs": 100.0},
		"destination":   map[string]any{"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/telemetry"},
	}
	if !reflect.DeepEqual(body, want) {
		got, _ := json.Marshal(body)
		t.Errorf("body = %s", got)
	}
}

func TestSubscribeAnswers(t *testing.T) {
	tests := []struct {
		name           string
		status         int
		answer         string
		wantDelivering bool
		wantError      string
	}{
		{"200 delivers", http.StatusOK, `"OK"`, true, ""},
		{"202 is a local test environment", http.StatusAccepted, `{"errorType":"Telemetry.NotSupported","errorMessage":"Telemetry API is not supported"}`, false, ""},
		{"400 is refused", http.StatusBadRequest, `{"errorType":"ValidationError","errorMessage":"URI port is not provided"}`, false, "400 Bad Request: ValidationError: URI port is not provided"},
		{"404 from an old emulator", http.StatusNotFound, `404 page not found`, false, "404 Not Found: 404 page not found"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(test.status)
				io.WriteString(w, test.answer)
			}))
			t.Cleanup(server.Close)
			delivering, err := Subscribe(context.Background(), server.Client(), strings.TrimPrefix(server.URL, "http://"), "id", NewSubscription(4243, "telemetry", Buffering{}))
			if delivering != test.wantDelivering {
				t.Errorf("delivering = %v, want %v", delivering, test.wantDelivering)
			}
			if test.wantError == "" && err != nil {
				t.Errorf("error = %v", err)
			}
			if test.wantError != "" && (err == nil || !strings.Contains(err.Error(), test.wantError)) {
				t.Errorf("error = %v, want it to say %q", err, test.wantError)
			}
		})
	}
}
