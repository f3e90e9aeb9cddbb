module labkit.local/golab

go 1.22
