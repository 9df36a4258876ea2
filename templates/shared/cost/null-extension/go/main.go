// Command null-extension is ext cost's floor for a Go extension: the least a
// process can do and still be one. It registers under its file name, then asks
// for events, discarding each body unparsed, until SHUTDOWN. No logging, no
// JSON, no error reporting. ext cost builds it exactly as ext build builds a Go
// extension, and reads every figure of a layer as a ratio to this one's.
package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// version is set by the same -ldflags as ext build passes to every extension.
var version = "dev"

func main() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension"
	events := `{"events":["INVOKE","SHUTDOWN"]}`
	// Lambda Managed Instances refuse INVOKE to extensions.
	if os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances" {
		events = `{"events":["SHUTDOWN"]}`
	}
	request, _ := http.NewRequest(http.MethodPost, base+"/register", strings.NewReader(events))
	request.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		os.Exit(1)
	}
	io.Copy(io.Discard, response.Body)
	response.Body.Close()
	identifier := response.Header.Get("Lambda-Extension-Identifier")
	var body bytes.Buffer
	for {
		request, _ := http.NewRequest(http.MethodGet, base+"/event/next", nil)
		request.Header.Set("Lambda-Extension-Identifier", identifier)
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			os.Exit(1)
		}
		body.Reset()
		body.ReadFrom(response.Body)
		response.Body.Close()
		if bytes.Contains(body.Bytes(), []byte(`"SHUTDOWN"`)) {
			return
		}
	}
}
