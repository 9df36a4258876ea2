// Package extension is a client for the AWS Lambda Extensions API (2020-01-01),
// which an external extension calls to register, wait for events and report
// failures. See https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html.
package extension

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// EventType names an event an extension can register for.
type EventType string

const (
	// Invoke is sent once per function invocation, in parallel with the handler.
	Invoke EventType = "INVOKE"
	// Shutdown is sent once, before Lambda stops the execution environment.
	Shutdown EventType = "SHUTDOWN"
)

// ShutdownReason says why the execution environment is shutting down. Compare
// values with Is: the documentation spells them in upper case, Lambda and the
// Runtime Interface Emulator send lower case, and the emulator also sends
// values of its own (SandboxTerminated, ReleaseFail), which are kept as sent.
type ShutdownReason string

const (
	// Spindown is a normal shutdown, for example after the environment was idle.
	Spindown ShutdownReason = "spindown"
	// Timeout means an invocation ran past the function timeout.
	Timeout ShutdownReason = "timeout"
	// Failure means the runtime or an extension failed (a crash or out of memory).
	Failure ShutdownReason = "failure"
)

// Is reports whether r and other are the same reason, ignoring case.
func (r ShutdownReason) Is(other ShutdownReason) bool {
	return strings.EqualFold(string(r), string(other))
}

// ErrNotRegistered means NextEvent was called before Register succeeded.
var ErrNotRegistered = errors.New("event/next before a successful register")

// ErrNoIdentifier means register succeeded without returning the
// Lambda-Extension-Identifier header, so no later call could be authenticated.
var ErrNoIdentifier = errors.New("register response has no Lambda-Extension-Identifier header")

// APIError is a non-2xx answer from a Lambda API (Extensions or Telemetry:
// they share the error model). ErrorType (for example
// Extension.InvalidEventType) is kept apart from the message because it is the
// stable part to match on and to search for when diagnosing.
type APIError struct {
	API          string `json:"-"`
	StatusCode   int    `json:"-"`
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// NewAPIError reads the error body of a non-2xx response from the named API.
// A body that is not the usual JSON becomes the message as it is.
func NewAPIError(api string, response *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(response.Body, 64<<10))
	apiErr := &APIError{API: api, StatusCode: response.StatusCode}
	if json.Unmarshal(body, apiErr) != nil {
		apiErr.ErrorMessage = strings.TrimSpace(string(body))
	}
	return apiErr
}

func (e *APIError) Error() string {
	message := fmt.Sprintf("%s API answered %d %s", e.API, e.StatusCode, http.StatusText(e.StatusCode))
	if e.ErrorType != "" {
		message += ": " + e.ErrorType
	}
	if e.ErrorMessage != "" {
		message += ": " + e.ErrorMessage
	}
	return message
}

// RegisterResponse describes the function the extension runs next to.
type RegisterResponse struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	// AccountID is empty where the API does not support the accountId
	// feature; the Runtime Interface Emulator never sends it.
	AccountID string `json:"accountId,omitempty"`
}

// Event is the answer to NextEvent. INVOKE events fill RequestID,
// InvokedFunctionARN and Tracing; SHUTDOWN events fill ShutdownReason.
type Event struct {
	EventType EventType `json:"eventType"`
	// DeadlineMs is in Unix milliseconds: the function timeout for INVOKE,
	// the moment the process is killed for SHUTDOWN.
	DeadlineMs         int64  `json:"deadlineMs"`
	RequestID          string `json:"requestId,omitempty"`
	InvokedFunctionARN string `json:"invokedFunctionArn,omitempty"`
	// Tracing is nil when the invocation carries no X-Amzn-Trace-Id header,
	// which is the default under the Runtime Interface Emulator.
	Tracing        *Tracing       `json:"tracing,omitempty"`
	ShutdownReason ShutdownReason `json:"shutdownReason,omitempty"`
}

// Tracing is the X-Ray trace context of an invocation.
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// FallbackDeadline bounds the work for an event that carried no deadlineMs.
// Lambda always sends one; a test server or an emulator may not, and an
// already-expired deadline would cancel the work before it starts.
const FallbackDeadline = 2 * time.Second

// Deadline returns DeadlineMs as a time, ready for context.WithDeadline, or
// FallbackDeadline from now when the event had none.
func (e *Event) Deadline() time.Time {
	if e.DeadlineMs <= 0 {
		return time.Now().Add(FallbackDeadline)
	}
	return time.UnixMilli(e.DeadlineMs)
}

// UnmarshalJSON accepts deadlineMs as a number (what Lambda sends) or as a
// numeric string (what the documentation's example shows).
func (e *Event) UnmarshalJSON(data []byte) error {
	type plain Event // has no UnmarshalJSON, so decoding into it does not recurse
	var wire struct {
		*plain
		DeadlineMs json.Number `json:"deadlineMs"`
	}
	wire.plain = (*plain)(e)
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	if wire.DeadlineMs == "" {
		return nil
	}
	deadline, err := wire.DeadlineMs.Int64()
	if err != nil {
		return fmt.Errorf("deadlineMs: %w", err)
	}
	e.DeadlineMs = deadline
	return nil
}

const identifierHeader = "Lambda-Extension-Identifier"

// Client calls the Extensions API. Register must be called first; after it
// returns, the Client is safe for concurrent use.
type Client struct {
	baseURL    string
	httpClient *http.Client
	identifier string
	// next is the event/next request, built once by Register: every poll
	// sends the same URL and headers, so each one only attaches its context
	// instead of parsing the URL and building the headers again.
	next *http.Request
}

// NewClient returns a client for the API at runtimeAPI, the host:port found in
// the AWS_LAMBDA_RUNTIME_API environment variable.
func NewClient(runtimeAPI string) *Client {
	return &Client{
		baseURL: "http://" + runtimeAPI + "/2020-01-01/extension",
		// No timeout: event/next blocks until the next event, and the
		// environment may stay frozen for hours between events. Cancel through
		// the context instead.
		httpClient: &http.Client{Transport: newTransport()},
	}
}

// newTransport returns a transport for the Extensions API alone, rather than
// http.DefaultTransport, which other code in the process (an SDK, some
// instrumentation) may wrap, reconfigure or fill with its own connections.
// Its zero settings suit an API on the sandbox's own loopback address: no
// proxy from HTTP_PROXY, no gzip (the API never compresses, and asking
// costs a header on every call), and no idle-connection timeout, which would
// be re-armed on every poll for a connection that is idle only between an
// event and the next poll.
func newTransport() *http.Transport {
	return &http.Transport{DisableCompression: true}
}

// Register announces the extension and the events it wants. name must be the
// file name of the executable in /opt/extensions: Lambda matches the
// registration to the process it started by that name.
func (c *Client) Register(ctx context.Context, name string, events ...EventType) (*RegisterResponse, error) {
	request, err := c.newRequest(ctx, http.MethodPost, "/register", map[string][]EventType{"events": events})
	if err != nil {
		return nil, err
	}
	request.Header.Set("Lambda-Extension-Name", name)
	request.Header.Set("Lambda-Extension-Accept-Feature", "accountId")
	body, header, err := c.do(request)
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", name, err)
	}
	var registered RegisterResponse
	if err := json.Unmarshal(body, &registered); err != nil {
		return nil, fmt.Errorf("register %s: decode response: %w", name, err)
	}
	identifier := header.Get(identifierHeader)
	if identifier == "" {
		return nil, ErrNoIdentifier
	}
	c.identifier = identifier
	if c.next, err = c.newRequest(context.Background(), http.MethodGet, "/event/next", nil); err != nil {
		return nil, err
	}
	return &registered, nil
}

// Identifier returns the Lambda-Extension-Identifier that Register received.
// Other APIs, such as the Telemetry API, need it too.
func (c *Client) Identifier() string {
	return c.identifier
}

// NextEvent tells Lambda that the extension has finished its current work
// (init or the previous invoke) and blocks until the next event.
func (c *Client) NextEvent(ctx context.Context) (*Event, error) {
	if c.next == nil {
		return nil, ErrNotRegistered
	}
	// WithContext copies the request but shares its URL and headers, which
	// nothing on the way out changes, so concurrent calls are safe too.
	body, _, err := c.do(c.next.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("next event: %w", err)
	}
	var event Event
	// Not json.Unmarshal(body, &event): that would scan the body twice more
	// (for validity, then for the value's end) before calling this.
	if err := event.UnmarshalJSON(body); err != nil {
		return nil, fmt.Errorf("next event: decode response: %w", err)
	}
	return &event, nil
}

// InitError reports that the extension registered but could not initialise.
// errorType should read Category.Reason, for example Extension.ConfigInvalid.
// Lambda then fails the init; the extension should exit.
func (c *Client) InitError(ctx context.Context, errorType string, err error) error {
	return c.reportError(ctx, "/init/error", errorType, err)
}

// ExitError reports a failure after init, just before the extension exits, so
// that Lambda logs the reason rather than a bare Extension.Crash.
func (c *Client) ExitError(ctx context.Context, errorType string, err error) error {
	return c.reportError(ctx, "/exit/error", errorType, err)
}

func (c *Client) reportError(ctx context.Context, path, errorType string, err error) error {
	body := struct {
		ErrorMessage string   `json:"errorMessage"`
		ErrorType    string   `json:"errorType"`
		StackTrace   []string `json:"stackTrace"`
	}{err.Error(), errorType, []string{}}
	request, err := c.newRequest(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	request.Header.Set("Lambda-Extension-Function-Error-Type", errorType)
	if _, _, err := c.do(request); err != nil {
		return fmt.Errorf("report %s: %w", strings.TrimPrefix(path, "/"), err)
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(encoded)
	}
	request, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return nil, err
	}
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	if c.identifier != "" {
		request.Header.Set(identifierHeader, c.identifier)
	}
	return request, nil
}

// do sends the request and returns the body and headers of a 2xx answer.
// Any 2xx counts as success: the error endpoints answer 202, not 200.
func (c *Client) do(request *http.Request) ([]byte, http.Header, error) {
	response, err := c.httpClient.Do(request)
	if err != nil {
		return nil, nil, err
	}
	defer response.Body.Close()
	if response.StatusCode < 200 || response.StatusCode > 299 {
		return nil, nil, NewAPIError("extensions", response)
	}
	// Read to the end, which also frees the keep-alive connection for the
	// next call.
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return nil, nil, err
	}
	return body, response.Header, nil
}
