// Package timeout has one test that never ends, so that `go test -timeout 2s` panics with its
// goroutine dump and the go command reports "FAIL <package> 2.0s".
package timeout

import (
	"testing"
)

func TestHang(t *testing.T) {
	block := make(chan struct{})
	go func() { <-block }()
	<-block
}
