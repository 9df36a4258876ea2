// Not Go code: a go.mod here makes infra/ a module of its own, which the
// project's `go vet ./...` and `go test ./...` leave out, so they do not walk
// into infra/node_modules (the aws-cdk package ships .go templates).
module infra.invalid

go 1.21
