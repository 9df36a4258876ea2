package main

import (
	"log/slog"
	"strings"
	"testing"
)

// FuzzInitialize reads random settings: initialize must never panic, and it
// either accepts a log level or names the variable it refuses.
// Run it longer with: go test -run='^$' -fuzz=FuzzInitialize -fuzztime=60s .
func FuzzInitialize(f *testing.F) {
	for _, seed := range []string{"", "debug", "INFO", "warn", "error", "ERROR+2", "info-4", "verbose", " debug", "\x00"} {
		f.Add("my-ext", seed)
	}
	f.Fuzz(func(t *testing.T, name, level string) {
		key := settingsPrefix(name) + "LOG_LEVEL"
		getenv := func(variable string) string {
			if variable == key {
				return level
			}
			return ""
		}
		var logLevel slog.LevelVar
		if err := initialize(name, getenv, &logLevel); err != nil && !strings.Contains(err.Error(), key) {
			t.Fatalf("initialize refused %s=%q without naming it: %v", key, level, err)
		}
	})
}
