package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseParameterQuery(t *testing.T) {
	for rawQuery, want := range map[string]parameterQuery{
		"name=%2Fapp%2Fdb-url":                   {Name: "/app/db-url"},
		"name=db&withDecryption=true":            {Name: "db", WithDecryption: true},
		"name=db&withDecryption=TRUE":            {Name: "db", WithDecryption: true},
		"name=db&withDecryption=false":           {Name: "db"},
		"name=db&version=3":                      {Name: "db:3"},
		"name=db&label=prod&withDecryption=true": {Name: "db:prod", WithDecryption: true},
		"name=db&unknown=ignored":                {Name: "db"},
	} {
		got, err := parseParameterQuery(rawQuery)
		if err != nil || got != want {
			t.Errorf("parseParameterQuery(%q) = %+v, %v; want %+v", rawQuery, got, err, want)
		}
	}
	for rawQuery, mentions := range map[string]string{
		"":                                  "name is missing",
		"name=":                             "name is missing",
		"name=a&name=b":                     "name is given 2 times",
		"name=a&withDecryption=yes":         "withDecryption",
		"name=a&version=x":                  "version",
		"name=a&version=0":                  "version",
		"name=a&version=3&label=prod":       "version and label",
		"name=a%0Ab":                        "control character",
		"name=%zz":                          "does not parse",
		"name=" + strings.Repeat("a", 2049): "at most 2048",
	} {
		_, err := parseParameterQuery(rawQuery)
		if err == nil || !strings.Contains(err.Error(), mentions) {
			t.Errorf("parseParameterQuery(%q) = %v, want an error mentioning %q", rawQuery, err, mentions)
		}
	}
}

func TestParseSecretQuery(t *testing.T) {
	got, err := parseSecretQuery("secretId=prod%2Fdb&versionStage=AWSPREVIOUS&versionId=v1")
	if want := (secretQuery{SecretID: "prod/db", VersionID: "v1", VersionStage: "AWSPREVIOUS"}); err != nil || got != want {
		t.Errorf("parseSecretQuery = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseSecretQuery("versionStage=AWSCURRENT"); err == nil || !strings.Contains(err.Error(), "secretId is missing") {
		t.Errorf("no secretId: %v", err)
	}
}

// TestInputsAreWhatTheAPIsTake: the JSON sent to AWS uses the operations'
// member names and leaves out what the query did not give.
func TestInputsAreWhatTheAPIsTake(t *testing.T) {
	parameter, _ := json.Marshal(parameterQuery{Name: "db:3", WithDecryption: true}.input())
	if string(parameter) != `{"Name":"db:3","WithDecryption":true}` {
		t.Errorf("GetParameter input %s", parameter)
	}
	secret, _ := json.Marshal(secretQuery{SecretID: "db", VersionStage: "AWSPREVIOUS"}.input())
	if string(secret) != `{"SecretId":"db","VersionStage":"AWSPREVIOUS"}` {
		t.Errorf("GetSecretValue input %s", secret)
	}
	if (parameterQuery{Name: "a"}).cacheKey() == (parameterQuery{Name: "a", WithDecryption: true}).cacheKey() {
		t.Error("decrypted and encrypted values share a cache key")
	}
}
