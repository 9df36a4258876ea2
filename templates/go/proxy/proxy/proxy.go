// Package proxy is a Lambda Runtime API proxy: the function's runtime talks
// to it instead of to Lambda (the wrapper script points the runtime's
// AWS_LAMBDA_RUNTIME_API here), and it forwards every call to the real
// Runtime API, with two hooks on the way: OnEvent before the handler sees an
// event, OnResponse after it answers.
//
// Under Lambda Managed Instances the runtime has several next calls out at
// once; every handler here is safe for concurrent use, and invocations are
// matched to their responses by request id, never by order.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxPayloadBytes is Lambda's limit on a synchronous event and response
// (6 MB). A response body up to this size is held in memory for OnResponse;
// a bigger one is forwarded as a stream, unseen, and Lambda refuses it.
const MaxPayloadBytes = 6291456

const (
	apiPrefix         = "/2018-06-01/runtime"
	nextPath          = apiPrefix + "/invocation/next"
	invocationPrefix  = apiPrefix + "/invocation/"
	requestIDHeader   = "Lambda-Runtime-Aws-Request-Id"
	deadlineHeader    = "Lambda-Runtime-Deadline-Ms"
	responseModeKey   = "Lambda-Runtime-Function-Response-Mode"
	errorTypeHeader   = "Lambda-Runtime-Function-Error-Type"
	rejectedEventType = "Proxy.EventRejected"
	rejectedReplyType = "Proxy.ResponseRejected"
)

// Invocation is one event on its way to the handler. OnEvent may replace
// Event; the other fields are Lambda's and read-only.
type Invocation struct {
	RequestID string
	// Deadline is when the function times out (Lambda-Runtime-Deadline-Ms).
	Deadline time.Time
	// Header holds Lambda's headers for the event (Lambda-Runtime-*), as
	// the runtime will see them.
	Header http.Header
	// Event is the payload, as Lambda sent it (JSON, at most 6 MB).
	Event []byte
	// Received is when the proxy got the event from Lambda.
	Received time.Time
}

// Kind says how the handler answered.
type Kind int

const (
	// Success is a response posted in one piece: Body holds it.
	Success Kind = iota
	// Failure is an error the runtime reported for the invocation: Body
	// holds its JSON ({"errorMessage", "errorType", "stackTrace"}) and
	// ErrorType the Lambda-Runtime-Function-Error-Type header.
	Failure
	// Streamed is a streamed response (Lambda-Runtime-Function-Response-Mode:
	// streaming). It went to Lambda chunk by chunk as the handler wrote it,
	// so it is done and Body is nil; Bytes says how much went through.
	Streamed
)

func (k Kind) String() string {
	switch k {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Streamed:
		return "streamed"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Response is the handler's answer on its way to Lambda. OnResponse may
// replace Body of a Success or a Failure.
type Response struct {
	Kind      Kind
	Body      []byte
	ErrorType string
	// Bytes is the size of the body that went to Lambda (streams included).
	Bytes int64
	// Duration runs from the event reaching the proxy to the answer
	// reaching it: the handler's time plus the runtime's.
	Duration time.Duration
}

// Hooks are the user's code. Both run on the invocation's critical path
// (their time is billed), under a context that ends at the function's
// deadline. Either may be nil.
type Hooks struct {
	// OnEvent runs before the handler sees the event. An error rejects the
	// event: the handler never sees it, the invocation fails with
	// errorType Proxy.EventRejected and the error's message, and the
	// runtime gets the next event instead.
	OnEvent func(ctx context.Context, invocation *Invocation) error
	// OnResponse runs after the handler answered, before Lambda hears of it.
	// For a stream it runs once the stream has ended, to observe it only. An
	// error replaces a Success with a failure Proxy.ResponseRejected.
	OnResponse func(ctx context.Context, invocation *Invocation, response *Response) error
}

// Proxy forwards the Runtime API. Create it with New; it is an
// http.Handler.
type Proxy struct {
	upstream string // "http://" + the real AWS_LAMBDA_RUNTIME_API
	client   *http.Client
	hooks    Hooks
	logger   *slog.Logger

	mu          sync.Mutex
	invocations map[string]*Invocation
}

// New returns a proxy to the Runtime API at runtimeAPI (host:port, the
// AWS_LAMBDA_RUNTIME_API the extension sees).
func New(runtimeAPI string, hooks Hooks, logger *slog.Logger) *Proxy {
	return &Proxy{
		upstream: "http://" + runtimeAPI,
		client: &http.Client{
			// No timeout: next blocks until an event comes, which may be hours
			// in a frozen environment. The runtime's own connection bounds it.
			// Proxy nil: the function's HTTP_PROXY must never catch
			// loopback calls to Lambda. No gzip: Lambda never compresses.
			Transport: &http.Transport{
				Proxy:               nil,
				DisableCompression:  true,
				MaxIdleConnsPerHost: 256, // one per concurrent invoke under Managed Instances
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		hooks:       hooks,
		logger:      logger,
		invocations: make(map[string]*Invocation),
	}
}

// Listen binds the proxy's loopback address, so that the caller knows the
// port is taken before it registers with Lambda (which starts the runtime
// only after every extension has registered).
func Listen(port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// Serve answers the runtime on listener until ctx ends.
func (p *Proxy) Serve(ctx context.Context, listener net.Listener) error {
	server := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			server.Close()
		case <-stopped:
		}
	}()
	err := server.Serve(listener)
	close(stopped)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP routes one Runtime API call.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && path == nextPath:
		p.next(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(path, invocationPrefix) &&
		(strings.HasSuffix(path, "/response") || strings.HasSuffix(path, "/error")):
		requestID, kind, _ := strings.Cut(strings.TrimPrefix(path, invocationPrefix), "/")
		p.answer(w, r, requestID, kind == "error")
	default:
		// init/error and anything Lambda adds later: passed through as they are.
		p.forward(w, r, r.Body)
	}
}

// next fetches an event for the runtime and runs OnEvent on it. A rejected
// event is failed on the handler's behalf and the next one fetched.
func (p *Proxy) next(w http.ResponseWriter, r *http.Request) {
	for {
		upstream, err := p.send(r.Context(), http.MethodGet, nextPath, r.Header, nil)
		if err != nil {
			p.unreachable(w, r, err)
			return
		}
		event, err := readAtMost(upstream.Body, MaxPayloadBytes)
		upstream.Body.Close()
		if err != nil {
			p.unreachable(w, r, err)
			return
		}
		requestID := upstream.Header.Get(requestIDHeader)
		if upstream.StatusCode != http.StatusOK || requestID == "" {
			// Lambda's own error: the runtime decides what to do with it.
			copyHeader(w.Header(), upstream.Header)
			w.WriteHeader(upstream.StatusCode)
			w.Write(event)
			return
		}
		invocation := &Invocation{
			RequestID: requestID,
			Deadline:  deadlineOf(upstream.Header),
			Header:    upstream.Header,
			Event:     event,
			Received:  time.Now(),
		}
		if err := p.onEvent(invocation); err != nil {
			p.logger.Warn("event rejected", "requestId", requestID, "error", err)
			p.reject(r.Context(), requestID, rejectedEventType, err)
			continue
		}
		p.remember(invocation)
		header := w.Header()
		copyHeader(header, upstream.Header)
		header.Set("Content-Length", strconv.Itoa(len(invocation.Event)))
		w.WriteHeader(http.StatusOK)
		w.Write(invocation.Event)
		return
	}
}

// answer forwards a response or an error, running OnResponse on it.
func (p *Proxy) answer(w http.ResponseWriter, r *http.Request, requestID string, failure bool) {
	invocation := p.forget(requestID)
	if invocation == nil {
		// Not handed out by this proxy (or already answered): Lambda says what is wrong.
		p.forward(w, r, r.Body)
		return
	}
	if !failure && strings.EqualFold(r.Header.Get(responseModeKey), "streaming") {
		counter := &countingReader{reader: r.Body}
		p.forward(w, r, counter)
		response := &Response{Kind: Streamed, Bytes: counter.bytes, Duration: time.Since(invocation.Received)}
		p.onResponse(invocation, response)
		p.logInvocation(invocation, response)
		return
	}
	body, err := readAtMost(r.Body, MaxPayloadBytes)
	if errors.Is(err, errTooLarge) {
		// Over Lambda's limit: forwarded unseen, as it came, and Lambda refuses it.
		p.forward(w, r, io.MultiReader(bytes.NewReader(body), r.Body))
		return
	}
	if err != nil {
		http.Error(w, "reading the response: "+err.Error(), http.StatusBadRequest)
		return
	}
	response := &Response{Kind: Success, Body: body, Duration: time.Since(invocation.Received)}
	if failure {
		response.Kind = Failure
		response.ErrorType = r.Header.Get(errorTypeHeader)
	}
	if err := p.onResponse(invocation, response); err != nil && !failure {
		p.logger.Warn("response rejected", "requestId", requestID, "error", err)
		status, answer := p.reject(r.Context(), requestID, rejectedReplyType, err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(answer)
		return
	}
	response.Bytes = int64(len(response.Body))
	p.forward(w, r, bytes.NewReader(response.Body))
	p.logInvocation(invocation, response)
}

// logInvocation writes one line per invocation at debug level (set
// <PREFIX>LOG_LEVEL=debug): at info, a line per invoke would be a CloudWatch
// bill for lines rarely read. Checked first, as the attributes cost
// allocations even when the line is dropped.
func (p *Proxy) logInvocation(invocation *Invocation, response *Response) {
	if !p.logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	p.logger.Debug("invocation",
		"requestId", invocation.RequestID,
		"kind", response.Kind.String(),
		"errorType", response.ErrorType,
		"bytes", response.Bytes,
		"durationMs", float64(response.Duration.Microseconds())/1000,
	)
}

func (p *Proxy) onEvent(invocation *Invocation) (err error) {
	if p.hooks.OnEvent == nil {
		return nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), invocation.Deadline)
	defer cancel()
	defer recoverInto(&err, "OnEvent")
	return p.hooks.OnEvent(ctx, invocation)
}

func (p *Proxy) onResponse(invocation *Invocation, response *Response) (err error) {
	if p.hooks.OnResponse == nil {
		return nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), invocation.Deadline)
	defer cancel()
	defer recoverInto(&err, "OnResponse")
	err = p.hooks.OnResponse(ctx, invocation, response)
	if err != nil && response.Kind != Success {
		// A failure or a stream cannot be turned down: it goes to Lambda as it is.
		p.logger.Warn("OnResponse returned an error for a "+response.Kind.String()+"; passed through unchanged",
			"requestId", invocation.RequestID, "error", err)
	}
	return err
}

// recoverInto turns a panic in a hook into its error, so that a bug in the
// user's code fails one invocation, not the proxy every invocation needs.
func recoverInto(err *error, hook string) {
	if recovered := recover(); recovered != nil {
		*err = fmt.Errorf("%s panicked: %v", hook, recovered)
	}
}

// reject fails an invocation on the handler's behalf, and returns Lambda's answer.
func (p *Proxy) reject(ctx context.Context, requestID, errorType string, cause error) (int, []byte) {
	body, _ := json.Marshal(map[string]any{"errorMessage": cause.Error(), "errorType": errorType, "stackTrace": []string{}})
	header := http.Header{"Content-Type": {"application/json"}, errorTypeHeader: {errorType}}
	response, err := p.send(ctx, http.MethodPost, invocationPrefix+requestID+"/error", header, bytes.NewReader(body))
	if err != nil {
		p.logger.Error("could not report a rejected invocation", "requestId", requestID, "error", err)
		return http.StatusBadGateway, []byte(`{"errorMessage":"the proxy could not reach the Runtime API","errorType":"Proxy.Unreachable"}`)
	}
	defer response.Body.Close()
	answer, _ := readAtMost(response.Body, 64<<10)
	return response.StatusCode, answer
}

// forward sends the runtime's request to Lambda with body, and Lambda's
// answer back, both streamed.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, body io.Reader) {
	request, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	copyHeader(request.Header, r.Header)
	switch {
	case body == io.Reader(r.Body) && r.ContentLength >= 0:
		request.ContentLength = r.ContentLength
	case isBuffered(body):
		// NewRequest has set the length of a bytes.Reader.
	default:
		// A stream: sent chunked, each chunk as it comes, with the trailers the
		// runtime sends after it (a streamed response reports a late error in
		// them). The server fills r.Trailer when the body ends, before the
		// client writes request.Trailer.
		request.ContentLength = -1
		request.Trailer = r.Trailer
	}
	response, err := p.client.Do(request)
	if err != nil {
		p.unreachable(w, r, err)
		return
	}
	defer response.Body.Close()
	copyHeader(w.Header(), response.Header)
	w.WriteHeader(response.StatusCode)
	io.Copy(w, response.Body)
}

func (p *Proxy) send(ctx context.Context, method, path string, header http.Header, body io.Reader) (*http.Response, error) {
	request, err := http.NewRequestWithContext(ctx, method, p.upstream+path, body)
	if err != nil {
		return nil, err
	}
	copyHeader(request.Header, header)
	if reader, ok := body.(*bytes.Reader); ok {
		request.ContentLength = int64(reader.Len())
	}
	return p.client.Do(request)
}

// unreachable answers the runtime when Lambda could not be reached, unless
// the runtime itself has gone (then nobody is listening).
func (p *Proxy) unreachable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	p.logger.Warn("runtime API call failed", "path", r.URL.Path, "error", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	io.WriteString(w, `{"errorMessage":"the proxy could not reach the Runtime API","errorType":"Proxy.Unreachable"}`)
}

// maxRemembered bounds the invocations waiting for an answer. Under Managed
// Instances there are at most AWS_LAMBDA_MAX_CONCURRENCY; more means answers
// that never came (a runtime that crashed), and the expired are dropped.
const maxRemembered = 1024

func (p *Proxy) remember(invocation *Invocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.invocations) >= maxRemembered {
		now := time.Now()
		for id, waiting := range p.invocations {
			if now.After(waiting.Deadline) {
				delete(p.invocations, id)
			}
		}
	}
	p.invocations[invocation.RequestID] = invocation
}

func (p *Proxy) forget(requestID string) *Invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	invocation := p.invocations[requestID]
	delete(p.invocations, requestID)
	return invocation
}

// Waiting returns how many invocations await their answer.
func (p *Proxy) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.invocations)
}

var errTooLarge = errors.New("larger than Lambda's payload limit")

// readAtMost reads a whole body of at most limit bytes. Over the limit it
// returns what it read (limit+1 bytes) and errTooLarge.
func readAtMost(reader io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(reader, limit+1))
	if err != nil {
		return body, err
	}
	if int64(len(body)) > limit {
		return body, errTooLarge
	}
	return body, nil
}

func deadlineOf(header http.Header) time.Time {
	milliseconds, err := strconv.ParseInt(header.Get(deadlineHeader), 10, 64)
	if err != nil || milliseconds <= 0 {
		// No deadline from Lambda: hooks still get a bounded context.
		return time.Now().Add(15 * time.Minute)
	}
	return time.UnixMilli(milliseconds)
}

// hopHeaders belong to one connection and are never forwarded.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
}

func copyHeader(to, from http.Header) {
	for key, values := range from {
		if !hopHeaders[key] {
			to[key] = values
		}
	}
}

func isBuffered(body io.Reader) bool {
	_, buffered := body.(*bytes.Reader)
	return buffered
}

type countingReader struct {
	reader io.Reader
	bytes  int64
}

func (c *countingReader) Read(buffer []byte) (int, error) {
	n, err := c.reader.Read(buffer)
	c.bytes += int64(n)
	return n, err
}
