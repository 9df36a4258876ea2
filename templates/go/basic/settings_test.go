package main

import "testing"

func TestSettingsPrefix(t *testing.T) {
	for name, want := range map[string]string{
		"my-ext":            "MY_EXT_",
		"otel.collector_v2": "OTEL_COLLECTOR_V2_",
		"1password":         "EXT_1PASSWORD_",
		"a--b":              "A_B_",
		"Datadog":           "DATADOG_",
		"x._-y":             "X_Y_",
		"ext-":              "EXT__",
	} {
		if got := settingsPrefix(name); got != want {
			t.Errorf("settingsPrefix(%q) = %q, want %q", name, got, want)
		}
	}
}
