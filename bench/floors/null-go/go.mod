module null-go

go 1.21
