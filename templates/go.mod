// Not a module anyone builds: the .go files below are templates, some of
// them Handlebars sources. A go.mod here makes this folder a module of its
// own, and the go command leaves other modules out of `./...`, so a generated
// project's `go vet ./...` and `go test ./...` do not walk into
// node_modules/create-lambda-extension/templates once the toolkit is installed.
module create-lambda-extension.invalid/templates

go 1.21
