module create-lambda-extension.invalid/null-extension

go 1.21
