// syscalls: goroutines in blocking system calls (nanosleep through syscall.Syscall, which
// enters the runtime with entersyscall) long enough for sysmon to retake their P
// (src/runtime/proc.go retake: a P in _Psyscall for more than a sysmon tick, 20 us to 10 ms)
// and hand it to another thread, while a CPU-bound goroutine wants one.
package main

import (
	"labkit.local/traceprograms/internal/tracing"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

func sleepInKernel(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	syscall.Syscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func spin(d time.Duration) {
	start := time.Now()
	for time.Since(start) < d {
	}
}

func main() {
	tracing.Run(func() {
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 3; j++ {
					sleepInKernel(4 * time.Millisecond)
				}
			}()
		}
		wg.Add(1)
		go func() { defer wg.Done(); spin(20 * time.Millisecond) }()
		wg.Wait()
	})
}
