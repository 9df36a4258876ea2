package awsapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func environment(endpoint string) func(string) string {
	env := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN": "session", "AWS_ENDPOINT_URL": endpoint,
	}
	return func(key string) string { return env[key] }
}

func TestCallSignsAndSendsTheJSONProtocol(t *testing.T) {
	var seen *http.Request
	var body string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		data, _ := io.ReadAll(r.Body)
		body = string(data)
		io.WriteString(w, `{"Parameter":{"Name":"db","Value":"v"}}`)
	}))
	defer server.Close()
	client, err := NewClient(environment(server.URL), Options{})
	if err != nil {
		t.Fatal(err)
	}
	response, err := client.Call(context.Background(), SSM, "GetParameter", map[string]string{"Name": "db"})
	if err != nil || response.Status != 200 || !strings.Contains(string(response.Body), `"Value":"v"`) {
		t.Fatalf("Call = %+v, %v", response, err)
	}
	if seen.Method != http.MethodPost || seen.URL.Path != "/" || body != `{"Name":"db"}` {
		t.Errorf("sent %s %s %s", seen.Method, seen.URL.Path, body)
	}
	for header, want := range map[string]string{
		"X-Amz-Target":         "AmazonSSM.GetParameter",
		"Content-Type":         "application/x-amz-json-1.1",
		"X-Amz-Security-Token": "session",
	} {
		if got := seen.Header.Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	if authorization := seen.Header.Get("Authorization"); !strings.HasPrefix(authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") ||
		!strings.Contains(authorization, "/eu-west-1/ssm/aws4_request") {
		t.Errorf("Authorization %q is not a SigV4 signature for ssm in eu-west-1", authorization)
	}
}

func TestCallRetriesThrottlingThenAnswers(t *testing.T) {
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		io.WriteString(w, `{"SecretString":"s"}`)
	}))
	defer server.Close()
	client, _ := NewClient(environment(server.URL), Options{Retry: Retry{Attempts: 5, Base: time.Millisecond, Max: 5 * time.Millisecond}})
	response, err := client.Call(context.Background(), SecretsManager, "GetSecretValue", map[string]string{"SecretId": "db"})
	if err != nil || response.Status != 200 || calls.Load() != 3 {
		t.Fatalf("Call = %+v, %v after %d calls; want the third call's answer", response, err, calls.Load())
	}
}

func TestCallDoesNotRetryADefiniteAnswer(t *testing.T) {
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"ParameterNotFound","message":"not found"}`)
	}))
	defer server.Close()
	client, _ := NewClient(environment(server.URL), Options{})
	response, err := client.Call(context.Background(), SSM, "GetParameter", map[string]string{"Name": "missing"})
	if err != nil || response.Status != 400 || response.ErrorType() != "ParameterNotFound" || calls.Load() != 1 {
		t.Fatalf("Call = %+v, %v after %d calls", response, err, calls.Load())
	}
}

func TestCallStopsRetryingAtTheDeadline(t *testing.T) {
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"com.amazonaws#ThrottlingException","message":"Rate exceeded"}`)
	}))
	defer server.Close()
	client, _ := NewClient(environment(server.URL), Options{Retry: Retry{Attempts: 100, Base: 20 * time.Millisecond, Max: 40 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	started := time.Now()
	response, err := client.Call(ctx, SSM, "GetParameter", map[string]string{"Name": "hot"})
	// The deadline ends the waits and the call in flight; the margin is for a loaded machine.
	if elapsed := time.Since(started); elapsed > 400*time.Millisecond {
		t.Errorf("Call took %v with a 150 ms deadline", elapsed)
	}
	if err != nil || response.ErrorType() != "ThrottlingException" || calls.Load() < 2 || calls.Load() >= 100 {
		t.Errorf("Call = %+v, %v after %d calls; want the last throttled answer, after a few tries", response, err, calls.Load())
	}
}

func TestNewClientEndpoints(t *testing.T) {
	env := map[string]string{"AWS_REGION": "cn-north-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:1/"}
	client, err := NewClient(func(key string) string { return env[key] }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if client.endpoints["ssm"] != "http://127.0.0.1:1/" || client.endpoints["secretsmanager"] != "https://secretsmanager.cn-north-1.amazonaws.com.cn/" {
		t.Errorf("endpoints %v", client.endpoints)
	}
	delete(env, "AWS_REGION")
	if _, err := NewClient(func(key string) string { return env[key] }, Options{}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("no region: %v", err)
	}
}
