package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaultsAreAWSExtensions(t *testing.T) {
	settings, err := loadConfig("my-ext", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		port: 2773, cacheEnabled: true, cacheSize: 1000, cacheBytes: defaultCacheBytes,
		ssmTTL: 300 * time.Second, secretsTTL: 300 * time.Second, maxConnections: 3, logLevel: slog.LevelInfo,
	}
	if settings != want {
		t.Errorf("defaults %+v, want %+v", settings, want)
	}
	if !settings.caching() {
		t.Error("caching off by default")
	}
}

func TestLoadConfigReadsEverySetting(t *testing.T) {
	env := map[string]string{
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT":       "2774",
		"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED":   "TRUE",
		"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE":      "50",
		"PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS": "8",
		"PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL":       "debug",
		"SSM_PARAMETER_STORE_TTL":                      "60",
		"SECRETS_MANAGER_TTL":                          "90s",
		"SSM_PARAMETER_STORE_TIMEOUT_MILLIS":           "1500",
		"SECRETS_MANAGER_TIMEOUT_MILLIS":               "2500",
		"MY_EXT_CACHE_MAX_BYTES":                       "1048576",
		"MY_EXT_STALE_ON_ERROR":                        "true",
	}
	settings, err := loadConfig("my-ext", func(key string) string { return env[key] })
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		port: 2774, cacheEnabled: true, cacheSize: 50, cacheBytes: 1 << 20, ssmTTL: time.Minute, secretsTTL: 90 * time.Second,
		ssmTimeout: 1500 * time.Millisecond, secretsTimeout: 2500 * time.Millisecond, maxConnections: 8,
		logLevel: slog.LevelDebug, staleOnError: true,
	}
	if settings != want {
		t.Errorf("loadConfig = %+v\nwant %+v", settings, want)
	}
}

func TestLoadConfigRefusesAndNamesEveryProblem(t *testing.T) {
	env := map[string]string{
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT":  "9001",
		"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "1001",
		"SSM_PARAMETER_STORE_TTL":                 "301",
		"SECRETS_MANAGER_TTL":                     "-5",
		"PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL":  "loud",
		"MY_EXT_STALE_ON_ERROR":                   "maybe",
	}
	_, err := loadConfig("my-ext", func(key string) string { return env[key] })
	for key := range env {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
}

func TestLoadConfigKeepsTheCacheWithinAQuarterOfMemory(t *testing.T) {
	env := map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "32"}
	settings, err := loadConfig("my-ext", func(key string) string { return env[key] })
	if err != nil || settings.cacheBytes != 8<<20 {
		t.Errorf("128 MB: cacheBytes %d, %v; want the default lowered to 8 MiB", settings.cacheBytes, err)
	}
	env["MY_EXT_CACHE_MAX_BYTES"] = "16777216"
	if _, err := loadConfig("my-ext", func(key string) string { return env[key] }); err == nil || !strings.Contains(err.Error(), "MY_EXT_CACHE_MAX_BYTES") {
		t.Errorf("16 MiB asked in 32 MB: %v", err)
	}
}

func TestCachingIsOffAsAWSExtensionTurnsItOff(t *testing.T) {
	for _, env := range []map[string]string{
		{"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "false"},
		{"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "0"},
		{"SSM_PARAMETER_STORE_TTL": "0", "SECRETS_MANAGER_TTL": "0"},
	} {
		settings, err := loadConfig("my-ext", func(key string) string { return env[key] })
		if err != nil || settings.caching() {
			t.Errorf("%v: caching %v, %v", env, settings.caching(), err)
		}
	}
}
