package main

import (
	"regexp"
	"testing"
)

var environmentName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*_$`)

// FuzzSettingsPrefix checks that any extension name, even one Lambda would
// refuse, gives a prefix Lambda accepts in an environment variable name.
// Run it longer with: go test -run='^$' -fuzz=FuzzSettingsPrefix -fuzztime=60s .
func FuzzSettingsPrefix(f *testing.F) {
	for _, seed := range []string{"my-ext", "1password", "", "-", "ext-", "ünïcode", "a\x00b", "otel.collector_v2"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if prefix := settingsPrefix(name); !environmentName.MatchString(prefix) {
			t.Fatalf("settingsPrefix(%q) = %q, not the start of an environment variable name", name, prefix)
		}
	})
}
