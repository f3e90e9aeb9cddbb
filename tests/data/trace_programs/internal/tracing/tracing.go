// Package tracing runs a program's work under runtime/trace, writing the execution trace to
// the file named by the program's first argument.
package tracing

import (
	"os"
	"runtime/trace"
)

// Run starts tracing into os.Args[1], runs work, and stops tracing before it returns, so that
// the trace is complete (trace.Stop flushes the last generation).
func Run(work func()) {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	work()
	trace.Stop()
	if err := f.Close(); err != nil {
		panic(err)
	}
}
