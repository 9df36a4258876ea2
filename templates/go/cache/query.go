package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The two paths of AWS's Parameters and Secrets Lambda Extension, which this
// extension answers in the same way, so a function written for it works
// unchanged.
const (
	parametersPath = "/systemsmanager/parameters/get"
	secretsPath    = "/secretsmanager/get"
)

// maxIdentifierBytes bounds names, ARNs, versions and labels: SSM names and
// ARNs are at most 2048 characters, secret ids 2048, and anything longer is
// refused here rather than sent to AWS and kept as a cache key.
const maxIdentifierBytes = 2048

// parameterQuery is what GET /systemsmanager/parameters/get asks for.
type parameterQuery struct {
	// Name is the parameter's name or ARN, with ":<version>" or ":<label>"
	// after it when the query chose one, as GetParameter takes it.
	Name           string
	WithDecryption bool
}

// secretQuery is what GET /secretsmanager/get asks for.
type secretQuery struct {
	SecretID     string
	VersionID    string
	VersionStage string
}

// queryError is a request the extension refuses before calling AWS: the
// answer is 400 with this message, which names the query parameter.
type queryError struct{ message string }

func (e *queryError) Error() string { return e.message }

func refuse(format string, args ...any) error {
	return &queryError{fmt.Sprintf(format, args...)}
}

// query holds the parsed query string and refuses what is ambiguous: a
// parameter given twice could mean either value.
type query url.Values

func parseQuery(rawQuery string) (query, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, refuse("the query string does not parse: %v", err)
	}
	return query(values), nil
}

// single returns the one value of key, "" when it is absent.
func (q query) single(key string) (string, error) {
	values := q[key]
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1:
		return "", refuse("%s is given %d times; give it once", key, len(values))
	}
	value := values[0]
	if len(value) > maxIdentifierBytes {
		return "", refuse("%s is %d bytes long; at most %d", key, len(value), maxIdentifierBytes)
	}
	for _, character := range value {
		if character < 0x20 || character == 0x7f {
			return "", refuse("%s holds a control character", key)
		}
	}
	return value, nil
}

func (q query) required(key string) (string, error) {
	value, err := q.single(key)
	if err == nil && value == "" {
		return "", refuse("%s is missing: add ?%s=<value>", key, key)
	}
	return value, err
}

// parseParameterQuery reads name, withDecryption, version and label.
func parseParameterQuery(rawQuery string) (parameterQuery, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return parameterQuery{}, err
	}
	name, err := q.required("name")
	if err != nil {
		return parameterQuery{}, err
	}
	decryption, err := q.single("withDecryption")
	if err != nil {
		return parameterQuery{}, err
	}
	withDecryption := false
	switch strings.ToLower(decryption) {
	case "", "false":
	case "true":
		withDecryption = true
	default:
		return parameterQuery{}, refuse("withDecryption is %q; use true or false", decryption)
	}
	version, err := q.single("version")
	if err != nil {
		return parameterQuery{}, err
	}
	label, err := q.single("label")
	if err != nil {
		return parameterQuery{}, err
	}
	selector := ""
	switch {
	case version != "" && label != "":
		return parameterQuery{}, refuse("version and label are both given; give one")
	case version != "":
		if number, err := strconv.ParseUint(version, 10, 63); err != nil || number == 0 || strconv.FormatUint(number, 10) != version {
			return parameterQuery{}, refuse("version is %q; want a version number such as 3", version)
		}
		selector = version
	case label != "":
		selector = label
	}
	if selector != "" {
		// GetParameter takes the version or label after the name: name:3.
		// (A name that has one already is AWS's to refuse.)
		name += ":" + selector
	}
	return parameterQuery{Name: name, WithDecryption: withDecryption}, nil
}

// parseSecretQuery reads secretId, versionId and versionStage.
func parseSecretQuery(rawQuery string) (secretQuery, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return secretQuery{}, err
	}
	var parsed secretQuery
	if parsed.SecretID, err = q.required("secretId"); err != nil {
		return secretQuery{}, err
	}
	if parsed.VersionID, err = q.single("versionId"); err != nil {
		return secretQuery{}, err
	}
	if parsed.VersionStage, err = q.single("versionStage"); err != nil {
		return secretQuery{}, err
	}
	return parsed, nil
}

// cacheKey tells entries apart: the fields cannot hold a newline (single
// refuses control characters), so no two queries share a key.
func (q parameterQuery) cacheKey() string {
	decryption := "0"
	if q.WithDecryption {
		decryption = "1"
	}
	return "ssm\n" + q.Name + "\n" + decryption
}

func (q secretQuery) cacheKey() string {
	return "secretsmanager\n" + q.SecretID + "\n" + q.VersionID + "\n" + q.VersionStage
}

// input is the JSON body of the AWS call.
func (q parameterQuery) input() any {
	return struct {
		Name           string
		WithDecryption bool
	}{q.Name, q.WithDecryption}
}

func (q secretQuery) input() any {
	return struct {
		SecretId     string
		VersionId    string `json:",omitempty"`
		VersionStage string `json:",omitempty"`
	}{q.SecretID, q.VersionID, q.VersionStage}
}
