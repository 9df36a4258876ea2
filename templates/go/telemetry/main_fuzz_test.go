package main

import (
	"strings"
	"testing"
)

// settingKeys are the variables loadConfig reads after the extension's prefix.
var settingKeys = []string{
	"LOG_LEVEL", "PORT", "BUFFER_MAX_ITEMS", "BUFFER_MAX_BYTES", "BUFFER_TIMEOUT_MS", "QUEUE_MAX_RECORDS",
	"QUEUE_MAX_BYTES", "FLUSH_MIN_RECORDS", "FLUSH_MAX_WAIT_MS", "FLUSH_INTERVAL_MS", "SINK", "HTTP_TIMEOUT_MS",
	"HTTP_HEADERS", "HTTP_URL",
}

// FuzzLoadConfig gives every setting a random value (the fuzzer picks one
// setting and its value, and the memory size): loadConfig must never panic,
// and a config it accepts must be within the documented ranges.
// Run it longer with: go test -run='^$' -fuzz=FuzzLoadConfig -fuzztime=60s .
func FuzzLoadConfig(f *testing.F) {
	f.Add(uint8(1), "8080", "128")
	f.Add(uint8(1), "9001", "")
	f.Add(uint8(6), "536870912", "128")
	f.Add(uint8(10), "http", "")
	f.Add(uint8(12), "Authorization=Bearer abc,X-Team=obs", "")
	f.Add(uint8(12), "=,", "")
	f.Add(uint8(13), "ftp://example.com", "")
	f.Add(uint8(0), "debug", "-1")
	f.Add(uint8(1), "0", "1") // a 1 MB function refuses the default queue, under QUEUE_MAX_BYTES
	f.Fuzz(func(t *testing.T, which uint8, value, memory string) {
		key := "MY_EXT_" + settingKeys[int(which)%len(settingKeys)]
		getenv := func(variable string) string {
			switch variable {
			case key:
				return value
			case "AWS_LAMBDA_FUNCTION_MEMORY_SIZE":
				return memory
			}
			return ""
		}
		settings, err := loadConfig("my-ext", getenv)
		if err != nil {
			// One problem a line, each starting with the variable to fix (which may be
			// another one: the http sink needs HTTP_URL, a small function a smaller queue).
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "MY_EXT_") {
					t.Fatalf("%s=%q: a problem does not start with its variable: %q", key, value, line)
				}
			}
			return
		}
		if settings.port < 0 || settings.port > 65535 || settings.port == reservedPort {
			t.Fatalf("%s=%q: accepted port %d", key, value, settings.port)
		}
		if !queueBytesRange.Contains(settings.queueBytes) || !queueLimitRange.Contains(settings.queueLimit) {
			t.Fatalf("%s=%q: accepted queue limits %d records, %d bytes", key, value, settings.queueLimit, settings.queueBytes)
		}
		if settings.sink != "stdout" && settings.sink != "http" {
			t.Fatalf("%s=%q: accepted sink %q", key, value, settings.sink)
		}
		if settings.httpTimeout <= 0 || settings.flushInterval <= 0 || settings.flushMaxWait < 0 {
			t.Fatalf("%s=%q: accepted durations %v, %v, %v", key, value, settings.httpTimeout, settings.flushInterval, settings.flushMaxWait)
		}
	})
}

// FuzzParseHeaders reads random HTTP_HEADERS values: parseHeaders must
// never panic, and every header it accepts must be one net/http can send.
// Run it longer with: go test -run='^$' -fuzz=FuzzParseHeaders -fuzztime=60s .
func FuzzParseHeaders(f *testing.F) {
	for _, seed := range []string{"Authorization=Bearer abc,X-Team=obs", "", ",", "=", "A=b=c", "bad name=x", "X=\r\nInjected: 1", "DD-API-KEY= secret "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		headers, err := parseHeaders(value)
		if err != nil {
			return
		}
		for name, values := range headers {
			if !headerName.MatchString(name) {
				t.Fatalf("parseHeaders(%q) accepted the header name %q", value, name)
			}
			for _, headerValue := range values {
				if strings.ContainsAny(headerValue, "\r\n\x00") {
					t.Fatalf("parseHeaders(%q) accepted the header value %q, which would break the request", value, headerValue)
				}
			}
		}
	})
}
