package extension

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve starts a fake Extensions API that answers every request with handler
// and returns a client for it.
func serve(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return NewClient(strings.TrimPrefix(server.URL, "http://"))
}

// registered returns a client that has registered with a fake API, which then
// answers every later request with next.
func registered(t *testing.T, next http.HandlerFunc) *Client {
	t.Helper()
	client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/2020-01-01/extension/register" {
			w.Header().Set("Lambda-Extension-Identifier", "test-id")
			io.WriteString(w, `{}`)
			return
		}
		next(w, r)
	})
	if _, err := client.Register(context.Background(), "my-ext", Invoke, Shutdown); err != nil {
		t.Fatal(err)
	}
	return client
}

func TestRegister(t *testing.T) {
	var nextIdentifier string
	client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2020-01-01/extension/register":
			if r.Method != http.MethodPost {
				t.Errorf("register method = %s, want POST", r.Method)
			}
			if got := r.Header.Get("Lambda-Extension-Name"); got != "my-ext" {
				t.Errorf("Lambda-Extension-Name = %q, want my-ext", got)
			}
			if got := r.Header.Get("Lambda-Extension-Accept-Feature"); got != "accountId" {
				t.Errorf("Lambda-Extension-Accept-Feature = %q, want accountId", got)
			}
			body, _ := io.ReadAll(r.Body)
			if string(body) != `{"events":["INVOKE","SHUTDOWN"]}` {
				t.Errorf("register body = %s", body)
			}
			w.Header().Set("Lambda-Extension-Identifier", "5e2f7a3c-0000-4000-8000-000000000001")
			io.WriteString(w, `{"functionName":"fn","functionVersion":"$LATEST","handler":"index.handler","accountId":"123456789012"}`)
		case "/2020-01-01/extension/event/next":
			nextIdentifier = r.Header.Get("Lambda-Extension-Identifier")
			if got := r.Header.Get("Accept-Encoding"); got != "" {
				t.Errorf("event/next sent Accept-Encoding %q; the API never compresses", got)
			}
			io.WriteString(w, `{"eventType":"SHUTDOWN","deadlineMs":1,"shutdownReason":"spindown"}`)
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		}
	})
	if client.httpClient.Timeout != 0 {
		t.Errorf("http client timeout = %v; event/next must be able to wait indefinitely", client.httpClient.Timeout)
	}

	got, err := client.Register(context.Background(), "my-ext", Invoke, Shutdown)
	if err != nil {
		t.Fatal(err)
	}
	want := RegisterResponse{FunctionName: "fn", FunctionVersion: "$LATEST", Handler: "index.handler", AccountID: "123456789012"}
	if *got != want {
		t.Errorf("Register = %+v, want %+v", *got, want)
	}
	if got := client.Identifier(); got != "5e2f7a3c-0000-4000-8000-000000000001" {
		t.Errorf("Identifier() = %q, want the one register returned", got)
	}
	if _, err := client.NextEvent(context.Background()); err != nil {
		t.Fatal(err)
	}
	if nextIdentifier != "5e2f7a3c-0000-4000-8000-000000000001" {
		t.Errorf("event/next sent identifier %q, want the one register returned", nextIdentifier)
	}
}

func TestRegisterWithoutIdentifier(t *testing.T) {
	client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"functionName":"fn"}`)
	})
	if _, err := client.Register(context.Background(), "my-ext", Invoke); !errors.Is(err, ErrNoIdentifier) {
		t.Fatalf("Register error = %v, want ErrNoIdentifier", err)
	}
}

func TestRegisterRejected(t *testing.T) {
	client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"errorMessage":"Extension limit (10) reached","errorType":"Extension.TooManyExtensions"}`)
	})
	_, err := client.Register(context.Background(), "my-ext", Invoke)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || apiErr.ErrorType != "Extension.TooManyExtensions" {
		t.Fatalf("Register error = %#v, want an APIError with 403 and the errorType", err)
	}
	for _, part := range []string{"register my-ext", "403 Forbidden", "Extension.TooManyExtensions", "Extension limit (10) reached"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
}

func TestAPIErrorWithoutJSONBody(t *testing.T) {
	client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "extensions disabled", http.StatusNotFound)
	})
	_, err := client.Register(context.Background(), "my-ext", Invoke)
	if err == nil || !strings.Contains(err.Error(), "404 Not Found: extensions disabled") {
		t.Fatalf("Register error = %v, want the status and the body text", err)
	}
}

func TestNextEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Event
	}{
		{
			name: "invoke with tracing",
			body: `{"eventType":"INVOKE","deadlineMs":1767225600123,"requestId":"r1","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}}`,
			want: Event{EventType: Invoke, DeadlineMs: 1767225600123, RequestID: "r1", InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn",
				Tracing: &Tracing{Type: "X-Amzn-Trace-Id", Value: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}},
		},
		{
			name: "invoke without tracing",
			body: `{"eventType":"INVOKE","deadlineMs":1767225600123,"requestId":"r2","invokedFunctionArn":"arn"}`,
			want: Event{EventType: Invoke, DeadlineMs: 1767225600123, RequestID: "r2", InvokedFunctionARN: "arn"},
		},
		{
			name: "shutdown with deadlineMs as a string",
			body: `{"eventType":"SHUTDOWN","shutdownReason":"SPINDOWN","deadlineMs":"1767225602000"}`,
			want: Event{EventType: Shutdown, DeadlineMs: 1767225602000, ShutdownReason: "SPINDOWN"},
		},
		{
			name: "shutdown with a reason of the emulator's own",
			body: `{"eventType":"SHUTDOWN","shutdownReason":"SandboxTerminated","deadlineMs":1767225602000}`,
			want: Event{EventType: Shutdown, DeadlineMs: 1767225602000, ShutdownReason: "SandboxTerminated"},
		},
		{
			name: "trailing newline",
			body: "{\"eventType\":\"SHUTDOWN\",\"shutdownReason\":\"spindown\",\"deadlineMs\":1767225602000}\n",
			want: Event{EventType: Shutdown, DeadlineMs: 1767225602000, ShutdownReason: "spindown"},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			client := registered(t, func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, test.body)
			})
			got, err := client.NextEvent(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(test.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("NextEvent = %s, want %s", gotJSON, wantJSON)
			}
			if !got.Deadline().Equal(time.UnixMilli(test.want.DeadlineMs)) {
				t.Errorf("Deadline() = %v, want %v", got.Deadline(), time.UnixMilli(test.want.DeadlineMs))
			}
		})
	}
}

func TestNextEventRejectsBadDeadline(t *testing.T) {
	client := registered(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"eventType":"INVOKE","deadlineMs":"soon"}`)
	})
	if _, err := client.NextEvent(context.Background()); err == nil {
		t.Fatal("NextEvent accepted deadlineMs \"soon\"")
	}
}

// TestNextEventRejectsTrailingData: one answer is one event; a second JSON
// value after it means the body is not what Lambda sends.
func TestNextEventRejectsTrailingData(t *testing.T) {
	client := registered(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"eventType":"INVOKE","deadlineMs":1}{"eventType":"SHUTDOWN"}`)
	})
	if _, err := client.NextEvent(context.Background()); err == nil {
		t.Fatal("NextEvent accepted two JSON values as one event")
	}
}

func TestNextEventBeforeRegister(t *testing.T) {
	client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
	})
	if _, err := client.NextEvent(context.Background()); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("NextEvent error = %v, want ErrNotRegistered", err)
	}
}

// TestNextEventConcurrently: every call shares the request that Register
// built; run with -race.
func TestNextEventConcurrently(t *testing.T) {
	client := registered(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/2020-01-01/extension/event/next" || r.Header.Get("Lambda-Extension-Identifier") != "test-id" {
			t.Errorf("got %s %s with identifier %q", r.Method, r.URL.Path, r.Header.Get("Lambda-Extension-Identifier"))
		}
		io.WriteString(w, `{"eventType":"INVOKE","deadlineMs":1767225600123,"requestId":"r"}`)
	})
	const callers = 8
	errs := make(chan error)
	for caller := 0; caller < callers; caller++ {
		go func() {
			for call := 0; call < 20; call++ {
				if _, err := client.NextEvent(context.Background()); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for caller := 0; caller < callers; caller++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestClientOwnsItsTransport: other code in the process may replace or wrap
// http.DefaultTransport; the Extensions API calls must not go through it.
func TestClientOwnsItsTransport(t *testing.T) {
	defaultTransport := http.DefaultTransport
	http.DefaultTransport = roundTripperFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("sent through http.DefaultTransport")
	})
	t.Cleanup(func() { http.DefaultTransport = defaultTransport })
	client := registered(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"eventType":"SHUTDOWN","deadlineMs":1}`)
	})
	if _, err := client.NextEvent(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNextEventStopsWhenContextIsCancelled(t *testing.T) {
	polled := make(chan struct{})
	client := registered(t, func(w http.ResponseWriter, r *http.Request) {
		close(polled)
		<-r.Context().Done() // a long poll with no event to deliver
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-polled
		cancel()
	}()
	if _, err := client.NextEvent(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("NextEvent error = %v, want context.Canceled", err)
	}
}

func TestShutdownReasonIs(t *testing.T) {
	for _, sent := range []ShutdownReason{"spindown", "SPINDOWN", "Spindown"} {
		if !sent.Is(Spindown) {
			t.Errorf("%q.Is(Spindown) = false", sent)
		}
		if sent.Is(Timeout) || sent.Is(Failure) {
			t.Errorf("%q matches Timeout or Failure", sent)
		}
	}
	if ShutdownReason("ReleaseFail").Is(Failure) {
		t.Error(`"ReleaseFail".Is(Failure) = true`)
	}
}

func TestErrorReports(t *testing.T) {
	reports := map[string]func(*Client, context.Context, string, error) error{
		"/2020-01-01/extension/init/error": (*Client).InitError,
		"/2020-01-01/extension/exit/error": (*Client).ExitError,
	}
	for path, report := range reports {
		t.Run(path, func(t *testing.T) {
			var gotPath, gotType, gotIdentifier, gotBody string
			client := registered(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				gotPath, gotBody = r.URL.Path, string(body)
				gotType = r.Header.Get("Lambda-Extension-Function-Error-Type")
				gotIdentifier = r.Header.Get("Lambda-Extension-Identifier")
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, `{"status":"OK"}`)
			})
			if err := report(client, context.Background(), "Extension.ConfigInvalid", errors.New("MY_EXT_LOG_LEVEL is loud")); err != nil {
				t.Fatalf("202 Accepted treated as failure: %v", err)
			}
			if gotPath != path || gotType != "Extension.ConfigInvalid" || gotIdentifier != "test-id" {
				t.Errorf("sent %s with error type %q and identifier %q", gotPath, gotType, gotIdentifier)
			}
			want := `{"errorMessage":"MY_EXT_LOG_LEVEL is loud","errorType":"Extension.ConfigInvalid","stackTrace":[]}`
			if gotBody != want {
				t.Errorf("body = %s, want %s", gotBody, want)
			}
		})
	}
}

func TestErrorReportRejected(t *testing.T) {
	client := registered(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"errorMessage":"State transition is not allowed","errorType":"Extension.InvalidExtensionState"}`)
	})
	err := client.ExitError(context.Background(), "Extension.Failed", errors.New("boom"))
	if err == nil || !strings.Contains(err.Error(), "Extension.InvalidExtensionState") {
		t.Fatalf("ExitError = %v, want the API's errorType", err)
	}
}

func TestDeadlineFallsBackWhenMissing(t *testing.T) {
	var event Event
	if err := json.Unmarshal([]byte(`{"eventType":"INVOKE","requestId":"r"}`), &event); err != nil {
		t.Fatal(err)
	}
	left := time.Until(event.Deadline())
	if left <= 0 || left > FallbackDeadline {
		t.Errorf("Deadline() is %v from now, want within (0, %v]", left, FallbackDeadline)
	}
	if got := (&Event{DeadlineMs: 1767225600123}).Deadline(); got.UnixMilli() != 1767225600123 {
		t.Errorf("Deadline() = %v, want the event's own", got)
	}
}
