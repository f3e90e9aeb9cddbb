module labkit.local/services

go 1.22

require (
	github.com/lib/pq v1.10.7
	github.com/mattn/go-sqlite3 v1.14.16
	github.com/prometheus/client_golang v1.14.0
)
