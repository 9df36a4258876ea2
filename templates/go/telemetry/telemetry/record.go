// Package telemetry receives records from the Lambda Telemetry API: it
// subscribes (PUT /2022-07-01/telemetry, records in schema version
// 2022-12-13), runs the listener Lambda pushes batches to and keeps the
// records in a bounded queue until a sink ships them.
// See https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html.
package telemetry

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Record is one element of a batch Lambda delivers, kept as received.
// Record is raw JSON: a string for function and extension log lines (an
// object when the function uses the JSON log format), an object for platform
// events.
type Record struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// recordOverhead is what `{"time":"","type":"","record":}` and the comma
// between records add to a record's fields once encoded.
const recordOverhead = 30

// Size is the record's encoded size in bytes; the queue limits are counted in it.
func (r Record) Size() int {
	return len(r.Time) + len(r.Type) + len(r.Record) + recordOverhead
}

// OwnOutput recognises the log lines an extension prints itself, so that the
// records Lambda makes of them can be dropped on arrival. Lambda delivers
// everything an extension writes to stdout or stderr back to it as
// `extension` records; shipping those by printing them would print them
// again, forever.
type OwnOutput struct {
	name string
}

// NewOwnOutput recognises lines that are JSON objects whose "extension"
// member is name, as every line this extension prints is.
func NewOwnOutput(name string) OwnOutput {
	return OwnOutput{name: name}
}

// Matches reports whether the record is one of our own log lines. The record
// is parsed, not searched: {"extension": "my-ext"} (with a space) is ours too,
// and my-ext-2's lines or a line merely quoting ours are not.
func (o OwnOutput) Matches(r *Record) bool {
	if r.Type != "extension" || o.name == "" || !bytes.Contains(r.Record, []byte(`extension`)) {
		return false
	}
	// The text log format: the line as printed, in a JSON string.
	var line string
	if json.Unmarshal(r.Record, &line) == nil {
		return o.isOwnLine(line)
	}
	// The JSON log format: the line already parsed, or wrapped with its text in "message".
	var fields struct {
		Extension *string `json:"extension"`
		Message   *string `json:"message"`
	}
	if json.Unmarshal(r.Record, &fields) != nil {
		return false
	}
	if fields.Extension != nil {
		return *fields.Extension == o.name
	}
	return fields.Message != nil && o.isOwnLine(*fields.Message)
}

// isOwnLine reports whether line is a JSON object whose "extension" is ours.
func (o OwnOutput) isOwnLine(line string) bool {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "{") {
		return false
	}
	var fields struct {
		Extension *string `json:"extension"`
	}
	return json.Unmarshal([]byte(line), &fields) == nil && fields.Extension != nil && *fields.Extension == o.name
}
