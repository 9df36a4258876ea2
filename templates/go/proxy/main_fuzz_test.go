package main

import (
	"strings"
	"testing"
)

// FuzzLoadConfig reads random settings: loadConfig must never panic, and it
// either accepts a value or names the variable it refuses.
// Run it longer with: go test -run='^$' -fuzz=FuzzLoadConfig -fuzztime=60s .
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{"", "9009", "0", "9001", "65535", "65536", "-1", " 8080 ", "port", "\x00"} {
		f.Add("my-ext", seed, "info")
	}
	f.Fuzz(func(t *testing.T, name, port, level string) {
		prefix := settingsPrefix(name)
		getenv := func(variable string) string {
			switch variable {
			case prefix + "PORT":
				return port
			case prefix + "LOG_LEVEL":
				return level
			}
			return ""
		}
		settings, err := loadConfig(name, getenv)
		if err != nil {
			if !strings.Contains(err.Error(), prefix) {
				t.Fatalf("loadConfig refused a setting without naming it: %v", err)
			}
			return
		}
		if settings.port < 1 || settings.port > 65535 || settings.port == reservedPort {
			t.Fatalf("loadConfig accepted port %d from %q", settings.port, port)
		}
	})
}
