package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// SchemaVersion is the Telemetry API schema the records follow.
const SchemaVersion = "2022-12-13"

// Types are the record types the extension subscribes to.
var Types = []string{"platform", "function", "extension"}

// Buffering tells Lambda how long to collect records before a delivery.
// Lambda delivers a batch when any of the three limits is reached.
type Buffering struct {
	MaxItems  int `json:"maxItems"`
	MaxBytes  int `json:"maxBytes"`
	TimeoutMs int `json:"timeoutMs"`
}

// The ranges Lambda accepts for each buffering field.
var (
	MaxItemsRange  = Range{Min: 1000, Max: 10000}
	MaxBytesRange  = Range{Min: 262144, Max: 1048576}
	TimeoutMsRange = Range{Min: 25, Max: 30000}
)

// Range is an inclusive range of integers.
type Range struct{ Min, Max int }

// Contains reports whether value lies in the range.
func (r Range) Contains(value int) bool { return value >= r.Min && value <= r.Max }

// Destination is where Lambda POSTs the batches.
type Destination struct {
	Protocol string `json:"protocol"`
	URI      string `json:"URI"`
}

// Subscription is the body of PUT /2022-07-01/telemetry.
type Subscription struct {
	SchemaVersion string      `json:"schemaVersion"`
	Types         []string    `json:"types"`
	Buffering     Buffering   `json:"buffering"`
	Destination   Destination `json:"destination"`
}

// NewSubscription subscribes to every record type, delivered to the listener
// on port at path. The host is sandbox.localdomain, the name Lambda resolves
// inside the execution environment, even though the listener binds all
// interfaces.
func NewSubscription(port int, path string, buffering Buffering) Subscription {
	return Subscription{
		SchemaVersion: SchemaVersion,
		Types:         append([]string(nil), Types...),
		Buffering:     buffering,
		Destination: Destination{
			Protocol: "HTTP",
			URI:      "http://sandbox.localdomain:" + strconv.Itoa(port) + "/" + strings.TrimPrefix(path, "/"),
		},
	}
}

// SubscribeError is a refusal from the Telemetry API.
type SubscribeError struct {
	StatusCode   int    `json:"-"`
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

func (e *SubscribeError) Error() string {
	message := fmt.Sprintf("telemetry API answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.ErrorType != "" {
		message += ": " + e.ErrorType
	}
	if e.ErrorMessage != "" {
		message += ": " + e.ErrorMessage
	}
	return message
}

// Subscribe sends the subscription for the registered extension identifier.
// It reports delivering=false when Lambda answers 202, which means a local
// test environment that accepts the subscription but will deliver nothing.
func Subscribe(ctx context.Context, client *http.Client, runtimeAPI, identifier string, subscription Subscription) (delivering bool, err error) {
	body, err := json.Marshal(subscription)
	if err != nil {
		return false, err
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+runtimeAPI+"/2022-07-01/telemetry", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Lambda-Extension-Identifier", identifier)
	response, err := client.Do(request)
	if err != nil {
		return false, fmt.Errorf("subscribe to telemetry: %w", err)
	}
	defer response.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(response.Body, 64<<10))
	switch response.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusAccepted:
		return false, nil
	}
	refusal := &SubscribeError{StatusCode: response.StatusCode}
	if json.Unmarshal(answer, refusal) != nil {
		refusal.ErrorMessage = strings.TrimSpace(string(answer))
	}
	return false, fmt.Errorf("subscribe to telemetry: %w", refusal)
}
