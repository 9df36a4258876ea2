// Package telemetry receives records from the Lambda Telemetry API: it
// subscribes (PUT /2022-07-01/telemetry, records in schema version
// 2022-12-13), runs the listener Lambda pushes batches to and keeps the
// records in a bounded queue until a sink ships them.
// See https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html.
package telemetry

import (
	"bytes"
	"encoding/json"
	"strconv"
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
	plain   []byte
	escaped []byte
}

// NewOwnOutput recognises lines that carry the JSON member "extension":"<name>",
// which every line this extension prints starts or contains.
func NewOwnOutput(name string) OwnOutput {
	encodedName, _ := json.Marshal(name)
	plain := []byte(`"extension":` + string(encodedName))
	// In a string record (the text format) the line arrives JSON-escaped.
	quoted := strconv.Quote(string(plain))
	return OwnOutput{plain: plain, escaped: []byte(quoted[1 : len(quoted)-1])}
}

// Matches reports whether the record is one of our own log lines.
func (o OwnOutput) Matches(r *Record) bool {
	if r.Type != "extension" || len(o.plain) == 0 {
		return false
	}
	return bytes.Contains(r.Record, o.escaped) || bytes.Contains(r.Record, o.plain)
}
