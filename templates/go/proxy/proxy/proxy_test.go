package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRuntimeAPI plays Lambda's Runtime API: next hands out queued events,
// and every POST is recorded with its headers, body and trailers.
type fakeRuntimeAPI struct {
	t      *testing.T
	events chan string // payloads; request ids are "id-<n>"
	// firstChunk, when set, receives the first chunk of each streamed response as it arrives.
	firstChunk chan []byte

	mu      sync.Mutex
	handed  int
	posts   []recordedPost
	address string
}

type recordedPost struct {
	path    string
	header  http.Header
	body    string
	trailer http.Header
}

func startFakeAPI(t *testing.T, events ...string) *fakeRuntimeAPI {
	api := &fakeRuntimeAPI{t: t, events: make(chan string, 1024)}
	for _, event := range events {
		api.events <- event
	}
	server := httptest.NewServer(api)
	t.Cleanup(server.Close)
	api.address = strings.TrimPrefix(server.URL, "http://")
	return api
}

func (api *fakeRuntimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == nextPath {
		select {
		case payload := <-api.events:
			api.mu.Lock()
			api.handed++
			id := fmt.Sprintf("id-%d", api.handed)
			api.mu.Unlock()
			w.Header().Set(requestIDHeader, id)
			w.Header().Set(deadlineHeader, strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f")
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, payload)
		case <-r.Context().Done():
		}
		return
	}
	var body bytes.Buffer
	if api.firstChunk != nil && r.Header.Get(responseModeKey) == "streaming" {
		buffer := make([]byte, 64<<10)
		n, _ := r.Body.Read(buffer)
		api.firstChunk <- append([]byte(nil), buffer[:n]...)
		body.Write(buffer[:n])
	}
	io.Copy(&body, r.Body)
	api.mu.Lock()
	api.posts = append(api.posts, recordedPost{r.URL.Path, r.Header.Clone(), body.String(), r.Trailer.Clone()})
	api.mu.Unlock()
	if body.Len() > MaxPayloadBytes {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"errorMessage":"too large","errorType":"Function.ResponseSizeTooLarge"}`)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (api *fakeRuntimeAPI) recorded() []recordedPost {
	api.mu.Lock()
	defer api.mu.Unlock()
	return append([]recordedPost(nil), api.posts...)
}

// startProxy serves a proxy to api on a loopback port, as main does.
func startProxy(t *testing.T, api *fakeRuntimeAPI, hooks Hooks) (string, *Proxy) {
	t.Helper()
	listener, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	proxy := New(api.address, hooks, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proxy.Serve(ctx, listener) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + listener.Addr().String(), proxy
}

// next is the runtime's GET .../invocation/next through the proxy.
func next(t *testing.T, proxyURL string) (string, string) {
	t.Helper()
	response, err := http.Get(proxyURL + nextPath)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("next: %d %s", response.StatusCode, body)
	}
	if got := response.Header.Get("Lambda-Runtime-Invoked-Function-Arn"); got == "" {
		t.Error("next: Lambda's headers did not reach the runtime")
	}
	if got := response.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Errorf("next: Content-Length %q for %d bytes", got, len(body))
	}
	return response.Header.Get(requestIDHeader), string(body)
}

func post(t *testing.T, proxyURL, path string, header http.Header, body string) (int, string) {
	t.Helper()
	request, _ := http.NewRequest(http.MethodPost, proxyURL+path, strings.NewReader(body))
	for key, values := range header {
		request.Header[key] = values
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	answer, _ := io.ReadAll(response.Body)
	return response.StatusCode, string(answer)
}

func TestForwardsAnInvocationUnchangedWithoutHooks(t *testing.T) {
	api := startFakeAPI(t, `{"hello":"world"}`)
	proxyURL, proxy := startProxy(t, api, Hooks{})
	id, event := next(t, proxyURL)
	if id != "id-1" || event != `{"hello":"world"}` {
		t.Fatalf("next gave %s %s", id, event)
	}
	if proxy.Waiting() != 1 {
		t.Errorf("waiting: %d", proxy.Waiting())
	}
	status, answer := post(t, proxyURL, invocationPrefix+id+"/response", http.Header{"Content-Type": {"application/json"}}, `{"ok":true}`)
	if status != http.StatusAccepted || answer != `{"status":"OK"}` {
		t.Errorf("response: %d %s, want Lambda's 202", status, answer)
	}
	posts := api.recorded()
	if len(posts) != 1 || posts[0].path != invocationPrefix+"id-1/response" || posts[0].body != `{"ok":true}` {
		t.Fatalf("Lambda got %+v", posts)
	}
	if proxy.Waiting() != 0 {
		t.Errorf("the answered invocation is still remembered")
	}
}

func TestHooksChangeTheEventAndTheResponse(t *testing.T) {
	api := startFakeAPI(t, `{"n":1}`)
	var seen *Response
	proxyURL, _ := startProxy(t, api, Hooks{
		OnEvent: func(ctx context.Context, invocation *Invocation) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("OnEvent's context has no deadline")
			}
			invocation.Event = []byte(`{"n":1,"enriched":true}`)
			return nil
		},
		OnResponse: func(_ context.Context, invocation *Invocation, response *Response) error {
			seen = response
			response.Body = append(response.Body[:len(response.Body)-1], []byte(`,"requestId":"`+invocation.RequestID+`"}`)...)
			return nil
		},
	})
	id, event := next(t, proxyURL)
	if event != `{"n":1,"enriched":true}` {
		t.Fatalf("the handler saw %s", event)
	}
	post(t, proxyURL, invocationPrefix+id+"/response", nil, `{"ok":true}`)
	if got := api.recorded()[0].body; got != `{"ok":true,"requestId":"id-1"}` {
		t.Errorf("Lambda got %s", got)
	}
	if seen == nil || seen.Kind != Success || seen.Duration <= 0 {
		t.Errorf("OnResponse saw %+v", seen)
	}
}

func TestARejectedEventFailsItsInvocationAndTheRuntimeGetsTheNext(t *testing.T) {
	api := startFakeAPI(t, `{"bad":true}`, `{"good":true}`)
	proxyURL, _ := startProxy(t, api, Hooks{
		OnEvent: func(_ context.Context, invocation *Invocation) error {
			if strings.Contains(string(invocation.Event), "bad") {
				return errors.New(`missing "good"`)
			}
			return nil
		},
	})
	id, event := next(t, proxyURL)
	if id != "id-2" || event != `{"good":true}` {
		t.Fatalf("the runtime got %s %s, want the second event", id, event)
	}
	posts := api.recorded()
	if len(posts) != 1 || posts[0].path != invocationPrefix+"id-1/error" {
		t.Fatalf("Lambda got %+v", posts)
	}
	if posts[0].header.Get(errorTypeHeader) != rejectedEventType {
		t.Errorf("error type %q", posts[0].header.Get(errorTypeHeader))
	}
	var body struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal([]byte(posts[0].body), &body); err != nil || body.ErrorMessage != `missing "good"` || body.ErrorType != rejectedEventType {
		t.Errorf("error body %s (%v)", posts[0].body, err)
	}
}

func TestAPanickingHookFailsOneInvocationNotTheProxy(t *testing.T) {
	api := startFakeAPI(t, `{}`)
	proxyURL, _ := startProxy(t, api, Hooks{
		OnResponse: func(context.Context, *Invocation, *Response) error { panic("bug in the hook") },
	})
	id, _ := next(t, proxyURL)
	status, _ := post(t, proxyURL, invocationPrefix+id+"/response", nil, `{}`)
	if status != http.StatusAccepted {
		t.Errorf("status %d", status)
	}
	posts := api.recorded()
	if len(posts) != 1 || posts[0].path != invocationPrefix+id+"/error" || !strings.Contains(posts[0].body, "bug in the hook") {
		t.Fatalf("Lambda got %+v, want the response replaced by Proxy.ResponseRejected", posts)
	}
}

func TestHandlerErrorsAndInitErrorsPassThroughUnchanged(t *testing.T) {
	api := startFakeAPI(t, `{}`)
	var seen *Response
	proxyURL, _ := startProxy(t, api, Hooks{
		OnResponse: func(_ context.Context, _ *Invocation, response *Response) error {
			seen = response
			return errors.New("a failure is never turned down")
		},
	})
	id, _ := next(t, proxyURL)
	failure := `{"errorMessage":"boom","errorType":"Error","stackTrace":["at handler"]}`
	header := http.Header{errorTypeHeader: {"Error"}, "Content-Type": {"application/json"}}
	if status, _ := post(t, proxyURL, invocationPrefix+id+"/error", header, failure); status != http.StatusAccepted {
		t.Errorf("error: %d", status)
	}
	post(t, proxyURL, apiPrefix+"/init/error", http.Header{errorTypeHeader: {"Runtime.ImportModuleError"}}, `{"errorMessage":"no module"}`)
	posts := api.recorded()
	if len(posts) != 2 {
		t.Fatalf("Lambda got %+v", posts)
	}
	if posts[0].body != failure || posts[0].header.Get(errorTypeHeader) != "Error" {
		t.Errorf("the error changed on its way: %+v", posts[0])
	}
	if posts[1].path != apiPrefix+"/init/error" || posts[1].header.Get(errorTypeHeader) != "Runtime.ImportModuleError" {
		t.Errorf("init/error: %+v", posts[1])
	}
	if seen == nil || seen.Kind != Failure || seen.ErrorType != "Error" {
		t.Errorf("OnResponse saw %+v", seen)
	}
}

func TestStreamedResponsesGoThroughChunkByChunk(t *testing.T) {
	api := startFakeAPI(t, `{}`)
	api.firstChunk = make(chan []byte, 1)
	var seen *Response
	proxyURL, _ := startProxy(t, api, Hooks{
		OnResponse: func(_ context.Context, _ *Invocation, response *Response) error {
			seen = response
			return nil
		},
	})
	id, _ := next(t, proxyURL)
	reader, writer := io.Pipe()
	request, _ := http.NewRequest(http.MethodPost, proxyURL+invocationPrefix+id+"/response", reader)
	request.Header.Set(responseModeKey, "streaming")
	request.Trailer = http.Header{errorTypeHeader: nil}
	result := make(chan *http.Response, 1)
	go func() {
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			t.Error(err)
		}
		result <- response
	}()
	io.WriteString(writer, "first chunk;")
	select {
	case chunk := <-api.firstChunk:
		if string(chunk) != "first chunk;" {
			t.Errorf("first chunk %q", chunk)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Lambda saw nothing of the stream before it ended: the proxy buffers it")
	}
	io.WriteString(writer, "second chunk")
	request.Trailer.Set(errorTypeHeader, "Runtime.StreamError")
	writer.Close()
	response := <-result
	if response == nil || response.StatusCode != http.StatusAccepted {
		t.Fatalf("stream answer %+v", response)
	}
	response.Body.Close()
	posts := api.recorded()
	if len(posts) != 1 || posts[0].body != "first chunk;second chunk" {
		t.Fatalf("Lambda got %+v", posts)
	}
	if posts[0].trailer.Get(errorTypeHeader) != "Runtime.StreamError" {
		t.Errorf("trailers lost: %v", posts[0].trailer)
	}
	if seen == nil || seen.Kind != Streamed || seen.Body != nil || seen.Bytes != int64(len("first chunk;second chunk")) {
		t.Errorf("OnResponse saw %+v", seen)
	}
}

func TestConcurrentInvocationsAreMatchedByRequestID(t *testing.T) {
	const concurrency = 16
	events := make([]string, concurrency)
	for i := range events {
		events[i] = fmt.Sprintf(`{"n":%d}`, i)
	}
	api := startFakeAPI(t, events...)
	var mu sync.Mutex
	seen := map[string]string{}
	proxyURL, proxy := startProxy(t, api, Hooks{
		OnResponse: func(_ context.Context, invocation *Invocation, response *Response) error {
			mu.Lock()
			seen[invocation.RequestID] = string(invocation.Event) + "->" + string(response.Body)
			mu.Unlock()
			return nil
		},
	})
	var wait sync.WaitGroup
	for i := 0; i < concurrency; i++ {
		wait.Add(1)
		go func() {
			defer wait.Done()
			id, event := next(t, proxyURL)
			time.Sleep(time.Millisecond)
			post(t, proxyURL, invocationPrefix+id+"/response", nil, event)
		}()
	}
	wait.Wait()
	if len(seen) != concurrency {
		t.Fatalf("OnResponse ran for %d invocations", len(seen))
	}
	for id, pair := range seen {
		event, response, _ := strings.Cut(pair, "->")
		if event != response {
			t.Errorf("%s: event %s answered with %s: matched by order, not by id", id, event, response)
		}
	}
	if proxy.Waiting() != 0 {
		t.Errorf("%d invocations still remembered", proxy.Waiting())
	}
}

func TestAnOversizedResponseGoesToLambdaUnseen(t *testing.T) {
	api := startFakeAPI(t, `{}`)
	called := false
	proxyURL, _ := startProxy(t, api, Hooks{
		OnResponse: func(context.Context, *Invocation, *Response) error {
			called = true
			return nil
		},
	})
	id, _ := next(t, proxyURL)
	status, answer := post(t, proxyURL, invocationPrefix+id+"/response", nil, strings.Repeat("x", MaxPayloadBytes+1))
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(answer, "Function.ResponseSizeTooLarge") {
		t.Errorf("got %d %s, want Lambda's refusal", status, answer)
	}
	if called {
		t.Error("OnResponse ran on a body over Lambda's limit")
	}
	if got := len(api.recorded()[0].body); got != MaxPayloadBytes+1 {
		t.Errorf("Lambda got %d bytes", got)
	}
}

func TestAnswersForUnknownRequestsAreLeftToLambda(t *testing.T) {
	api := startFakeAPI(t)
	proxyURL, _ := startProxy(t, api, Hooks{
		OnResponse: func(context.Context, *Invocation, *Response) error { return errors.New("never called") },
	})
	status, _ := post(t, proxyURL, invocationPrefix+"unknown/response", nil, `{}`)
	if status != http.StatusAccepted || len(api.recorded()) != 1 {
		t.Errorf("status %d, posts %+v", status, api.recorded())
	}
}

func TestAnUnreachableRuntimeAPIIsA502(t *testing.T) {
	proxyURL, _ := startProxy(t, &fakeRuntimeAPI{address: "127.0.0.1:1"}, Hooks{})
	response, err := http.Get(proxyURL + nextPath)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d", response.StatusCode)
	}
}

func BenchmarkInvocation(b *testing.B) {
	api := &fakeRuntimeAPI{events: make(chan string, b.N+1)}
	server := httptest.NewServer(api)
	defer server.Close()
	api.address = strings.TrimPrefix(server.URL, "http://")
	for i := 0; i < b.N; i++ {
		api.events <- `{"key":"value"}`
	}
	listener, _ := Listen(0)
	proxy := New(api.address, Hooks{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go proxy.Serve(ctx, listener)
	proxyURL := "http://" + listener.Addr().String()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		response, _ := http.Get(proxyURL + nextPath)
		io.Copy(io.Discard, response.Body)
		response.Body.Close()
		id := response.Header.Get(requestIDHeader)
		answer, _ := http.Post(proxyURL+invocationPrefix+id+"/response", "application/json", strings.NewReader(`{}`))
		io.Copy(io.Discard, answer.Body)
		answer.Body.Close()
	}
}
