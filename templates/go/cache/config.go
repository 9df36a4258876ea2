package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// config is the extension's configuration. The settings AWS's Parameters
// and Secrets Lambda Extension has are read from the same variables, so a
// function configured for it keeps its settings; the ones it lacks carry the
// extension's own prefix (my-ext reads MY_EXT_STALE_ON_ERROR; see
// settingsPrefix in settings.go).
type config struct {
	port           int
	cacheEnabled   bool
	cacheSize      int
	cacheBytes     int
	ssmTTL         time.Duration
	secretsTTL     time.Duration
	ssmTimeout     time.Duration // 0: no limit of its own; the invoke's deadline still bounds the call
	secretsTimeout time.Duration
	maxConnections int
	logLevel       slog.Level
	logNone        bool
	staleOnError   bool
}

const (
	defaultPort       = 2773
	defaultCacheSize  = 1000
	maxCacheSize      = 1000
	defaultCacheBytes = 16 << 20
	defaultTTL        = 300 * time.Second
	maxTTL            = 300 * time.Second
	defaultMaxConns   = 3
	// reservedPort is the Runtime and Extensions API's own port.
	reservedPort = 9001
	// memoryPerCachedByte: the cache may hold at most this fraction of the
	// function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
	memoryPerCachedByte = 4
)

// levelNone is above every level: PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL=none.
const levelNone = slog.Level(100)

// loadConfig reads and checks every variable and returns all the problems at
// once, each naming its variable, so one failed init shows them all. A
// problem never repeats anything but the variable's own value.
func loadConfig(name string, getenv func(string) string) (config, error) {
	prefix := settingsPrefix(name)
	settings := config{
		port:           defaultPort,
		cacheEnabled:   true,
		cacheSize:      defaultCacheSize,
		cacheBytes:     defaultCacheBytes,
		ssmTTL:         defaultTTL,
		secretsTTL:     defaultTTL,
		maxConnections: defaultMaxConns,
		logLevel:       slog.LevelInfo,
	}
	var problems []error
	problem := func(key, value, format string, args ...any) {
		problems = append(problems, fmt.Errorf("%s=%q: %s", key, value, fmt.Sprintf(format, args...)))
	}
	integer := func(key string, target *int, low, high int) {
		value := strings.TrimSpace(getenv(key))
		if value == "" {
			return
		}
		number, err := strconv.Atoi(value)
		if err != nil || number < low || number > high {
			problem(key, value, "want a whole number from %d to %d", low, high)
			return
		}
		*target = number
	}
	boolean := func(key string, target *bool) {
		value := strings.TrimSpace(getenv(key))
		if value == "" {
			return
		}
		parsed, err := strconv.ParseBool(value)
		if err != nil {
			problem(key, value, "use true or false")
			return
		}
		*target = parsed
	}
	// AWS's TTLs are seconds ("300"); a Go duration ("5m", "90s") works too.
	ttl := func(key string, target *time.Duration) {
		value := strings.TrimSpace(getenv(key))
		if value == "" {
			return
		}
		duration, err := time.ParseDuration(value)
		if seconds, numberErr := strconv.Atoi(value); numberErr == nil {
			duration, err = time.Duration(seconds)*time.Second, nil
		}
		if err != nil || duration < 0 || duration > maxTTL {
			problem(key, value, "want seconds from 0 (no caching) to %d", int(maxTTL.Seconds()))
			return
		}
		*target = duration
	}
	milliseconds := func(key string, target *time.Duration) {
		var number int
		integer(key, &number, 0, 600000)
		*target = time.Duration(number) * time.Millisecond
	}

	integer("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", &settings.port, 0, 65535)
	if settings.port == reservedPort {
		problem("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", strconv.Itoa(reservedPort), "port %d is Lambda's own API; choose another", reservedPort)
	}
	boolean("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", &settings.cacheEnabled)
	integer("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", &settings.cacheSize, 0, maxCacheSize)
	integer("PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS", &settings.maxConnections, 1, 1000)
	ttl("SSM_PARAMETER_STORE_TTL", &settings.ssmTTL)
	ttl("SECRETS_MANAGER_TTL", &settings.secretsTTL)
	milliseconds("SSM_PARAMETER_STORE_TIMEOUT_MILLIS", &settings.ssmTimeout)
	milliseconds("SECRETS_MANAGER_TIMEOUT_MILLIS", &settings.secretsTimeout)
	if value := strings.TrimSpace(getenv("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL")); value != "" {
		if strings.EqualFold(value, "none") {
			settings.logLevel, settings.logNone = levelNone, true
		} else if err := settings.logLevel.UnmarshalText([]byte(value)); err != nil {
			problem("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", value, "use debug, info, warn, error or none")
		}
	}
	integer(prefix+"CACHE_MAX_BYTES", &settings.cacheBytes, 64<<10, 1<<30)
	// The extension's memory counts against the function's: a full cache may
	// take at most a quarter of it.
	if memoryMB, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && memoryMB > 0 {
		if allowed := memoryMB << 20 / memoryPerCachedByte; settings.cacheBytes > allowed {
			if getenv(prefix+"CACHE_MAX_BYTES") != "" {
				problem(prefix+"CACHE_MAX_BYTES", strconv.Itoa(settings.cacheBytes), "the function has %d MB, and the cache may take at most a quarter of it (%d bytes); lower it or give the function more memory", memoryMB, allowed)
			} else {
				settings.cacheBytes = allowed
			}
		}
	}
	boolean(prefix+"STALE_ON_ERROR", &settings.staleOnError)
	return settings, errors.Join(problems...)
}

// caching reports whether anything is cached at all: AWS's extension caches
// nothing when the cache is disabled, its size is 0, or both TTLs are 0.
func (c config) caching() bool {
	return c.cacheEnabled && c.cacheSize > 0 && (c.ssmTTL > 0 || c.secretsTTL > 0)
}
