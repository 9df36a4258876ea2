package main

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseParameterQuery feeds random query strings to the parameters
// path's parser: it must never panic; what it accepts has a name, no control
// character (so cache keys cannot collide), and says the same when its
// fields are encoded again and parsed back.
// Run it longer with: go test -run='^$' -fuzz=FuzzParseParameterQuery -fuzztime=60s .
func FuzzParseParameterQuery(f *testing.F) {
	for _, seed := range []string{
		"name=%2Fapp%2Fdb-url", "name=x&withDecryption=true", "name=x&version=3", "name=x&label=prod",
		"name=x&version=3&label=prod", "name=x&name=y", "name=x&withDecryption=yes", "name=%0A", "name=x;y",
		"name=x&version=03", "name=arn:aws:ssm:us-east-1:123456789012:parameter/x&label=l", "", "%zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		parsed, err := parseParameterQuery(rawQuery)
		if err != nil {
			if _, ok := err.(*queryError); !ok {
				t.Fatalf("%q: error of type %T, want *queryError (a 400)", rawQuery, err)
			}
			return
		}
		if parsed.Name == "" || strings.ContainsAny(parsed.Name, "\n\r\x00") {
			t.Fatalf("%q: accepted name %q", rawQuery, parsed.Name)
		}
		if strings.Count(parsed.cacheKey(), "\n") != 2 {
			t.Fatalf("%q: cache key %q has extra separators", rawQuery, parsed.cacheKey())
		}
		again := url.Values{"name": {parsed.Name}}
		if parsed.WithDecryption {
			again.Set("withDecryption", "true")
		}
		reparsed, err := parseParameterQuery(again.Encode())
		if err != nil || reparsed != parsed {
			t.Fatalf("%q: parsed %+v, encoded and parsed again %+v, %v", rawQuery, parsed, reparsed, err)
		}
	})
}

// FuzzParseSecretQuery does the same for the secrets path.
// Run it longer with: go test -run='^$' -fuzz=FuzzParseSecretQuery -fuzztime=60s .
func FuzzParseSecretQuery(f *testing.F) {
	for _, seed := range []string{
		"secretId=db", "secretId=db&versionStage=AWSPREVIOUS", "secretId=db&versionId=01234567-89ab-cdef-0123-456789abcdef",
		"secretId=a&secretId=b", "secretId=", "versionStage=x", "secretId=%7F", "secretId=a+b&versionStage=%20",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		parsed, err := parseSecretQuery(rawQuery)
		if err != nil {
			if _, ok := err.(*queryError); !ok {
				t.Fatalf("%q: error of type %T, want *queryError (a 400)", rawQuery, err)
			}
			return
		}
		if parsed.SecretID == "" || strings.Count(parsed.cacheKey(), "\n") != 3 {
			t.Fatalf("%q: accepted %+v, key %q", rawQuery, parsed, parsed.cacheKey())
		}
		again := url.Values{"secretId": {parsed.SecretID}}
		if parsed.VersionID != "" {
			again.Set("versionId", parsed.VersionID)
		}
		if parsed.VersionStage != "" {
			again.Set("versionStage", parsed.VersionStage)
		}
		if reparsed, err := parseSecretQuery(again.Encode()); err != nil || reparsed != parsed {
			t.Fatalf("%q: parsed %+v, encoded and parsed again %+v, %v", rawQuery, parsed, reparsed, err)
		}
	})
}

// FuzzLoadConfig reads random values for every setting: loadConfig must
// never panic, and a refusal names the variable it refuses.
// Run it longer with: go test -run='^$' -fuzz=FuzzLoadConfig -fuzztime=60s .
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{"", "0", "300", "301", "5m", "-1", "true", "none", "DEBUG", "1e3", " 2773 ", "\x00"} {
		f.Add(seed)
	}
	keys := []string{
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
		"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS",
		"PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "SSM_PARAMETER_STORE_TTL", "SECRETS_MANAGER_TTL",
		"SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "SECRETS_MANAGER_TIMEOUT_MILLIS", "MY_EXT_CACHE_MAX_BYTES", "MY_EXT_STALE_ON_ERROR",
	}
	f.Fuzz(func(t *testing.T, value string) {
		for _, key := range keys {
			settings, err := loadConfig("my-ext", func(variable string) string {
				if variable == key {
					return value
				}
				return ""
			})
			if err != nil {
				if !strings.Contains(err.Error(), key) {
					t.Fatalf("%s=%q refused without naming it: %v", key, value, err)
				}
				continue
			}
			if settings.ssmTTL < 0 || settings.ssmTTL > maxTTL || settings.cacheSize > maxCacheSize || settings.port == reservedPort {
				t.Fatalf("%s=%q accepted out of range: %+v", key, value, settings)
			}
		}
	})
}
