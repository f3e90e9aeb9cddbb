// Package logdump logs a goroutine dump from a test: `go test -v` prints it as test output
// does, its lines indented under the test's name.
package logdump

import (
	"runtime"
	"testing"
	"time"
)

func TestLogDump(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	go func() { <-block }()
	time.Sleep(10 * time.Millisecond)
	buf := make([]byte, 1<<16)
	t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
}
