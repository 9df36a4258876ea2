package extension

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzEventUnmarshal feeds event/next bodies to Event's decoder. It must
// never panic, Deadline must work on whatever it accepts, and an accepted
// event must survive a round trip through JSON unchanged.
// Run it longer with: go test -run='^$' -fuzz=FuzzEventUnmarshal -fuzztime=60s ./extension
func FuzzEventUnmarshal(f *testing.F) {
	for _, seed := range []string{
		`{"eventType":"INVOKE","deadlineMs":1700000000000,"requestId":"3da1f2dc-3222-475e-9205-e2e6c6318895","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}}`,
		`{"eventType":"SHUTDOWN","deadlineMs":1700000002000,"shutdownReason":"spindown"}`,
		`{"eventType":"SHUTDOWN","deadlineMs":"1700000002000","shutdownReason":"failure"}`,
		`{"eventType":"INVOKE"}`,
		`{"deadlineMs":"12.5"}`,
		`{"deadlineMs":-1,"tracing":null}`,
		`{"deadlineMs":9223372036854775808}`,
		`null`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var event, direct Event
		err := json.Unmarshal(data, &event)
		// NextEvent calls UnmarshalJSON itself, skipping json.Unmarshal's
		// scans: both must agree on every body.
		if directErr := direct.UnmarshalJSON(data); (err == nil) != (directErr == nil) || !reflect.DeepEqual(event, direct) {
			t.Fatalf("json.Unmarshal and UnmarshalJSON disagree on %q: %v, %+v and %v, %+v", data, err, event, directErr, direct)
		}
		if err != nil {
			return
		}
		if event.Deadline().IsZero() {
			t.Fatalf("Deadline() is the zero time for %q", data)
		}
		encoded, err := json.Marshal(&event)
		if err != nil {
			t.Fatalf("cannot encode the event decoded from %q: %v", data, err)
		}
		var again Event
		if err := json.Unmarshal(encoded, &again); err != nil {
			t.Fatalf("cannot decode %s, the encoding of %q: %v", encoded, data, err)
		}
		if !reflect.DeepEqual(event, again) {
			t.Fatalf("round trip changed the event decoded from %q:\n%+v\n%+v", data, event, again)
		}
	})
}
