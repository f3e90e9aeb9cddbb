// Command syscall_threads counts the OS threads a Go program uses while goroutines sit in
// blocking system calls, and while others wait on the network poller.
//
// main starts -syscalls goroutines that each block in nanosleep(2) for -block_ms (a raw blocking
// system call: runtime.entersyscall keeps the thread, and sysmon's retake hands the P to another
// thread, so every blocked call holds one thread), and -netwaits goroutines that each block
// reading an empty pipe (os.Pipe is pollable: the goroutine parks on the netpoller in
// internal/poll, "IO wait", and holds no thread). Halfway through the block it counts the
// process's threads (/proc/self/status, Threads:). On top of the blocked calls there is sysmon's
// thread (runtime.main starts it, never with a P) and the threads that run the Ps.
//
// Threads are never given back to the OS (idle Ms park in stopm), so each measurement runs in a
// fresh process: with -repeats > 1 the program runs itself that many times and reports the
// median and every run. One JSON object on stdout.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// threads reads the process's thread count from /proc/self/status.
func threads() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(rest))
			return n
		}
	}
	return -1
}

// once blocks the goroutines and returns the thread count before and halfway through.
func once(syscalls, netwaits int, blockMs float64) (before, during int) {
	before = threads()
	var wg sync.WaitGroup
	var pipes []*os.File
	for range netwaits {
		r, w, err := os.Pipe()
		if err != nil {
			panic(err)
		}
		pipes = append(pipes, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1)
			r.Read(buf) // parks in IO wait until the write below
			r.Close()
		}()
	}
	block := syscall.NsecToTimespec(int64(blockMs * 1e6))
	for range syscalls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := block
			for syscall.Nanosleep(&ts, &ts) == syscall.EINTR { // SIGURG etc.: sleep the rest
			}
		}()
	}
	time.Sleep(time.Duration(blockMs * 1e6 / 2))
	during = threads()
	for _, w := range pipes {
		w.Write([]byte{1})
		w.Close()
	}
	wg.Wait()
	return before, during
}

func main() {
	syscalls := flag.Int("syscalls", 9, "goroutines blocked in nanosleep(2)")
	netwaits := flag.Int("netwaits", 0, "goroutines blocked reading a pipe (netpoller)")
	blockMs := flag.Float64("block_ms", 200, "how long each blocks, ms")
	repeats := flag.Int("repeats", 5, "fresh processes; the median is reported")
	child := flag.Bool("child", false, "measure once and print before/during (internal)")
	flag.Parse()

	if *child {
		before, during := once(*syscalls, *netwaits, *blockMs)
		json.NewEncoder(os.Stdout).Encode([]int{before, during})
		return
	}
	var before, peak []float64
	for range *repeats {
		args := []string{"-child", fmt.Sprintf("-syscalls=%d", *syscalls),
			fmt.Sprintf("-netwaits=%d", *netwaits), fmt.Sprintf("-block_ms=%g", *blockMs)}
		out, err := exec.Command(os.Args[0], args...).Output()
		var got []int
		if err == nil {
			err = json.Unmarshal(out, &got)
		}
		if err != nil || len(got) != 2 {
			fmt.Fprintf(os.Stderr, "child run failed: %v %q\n", err, out)
			os.Exit(1)
		}
		before = append(before, float64(got[0]))
		peak = append(peak, float64(got[1]))
	}
	out := map[string]any{
		"threads_peak":        measure.Median(peak),
		"threads_before":      measure.Median(before),
		"syscalls":            *syscalls,
		"netwaits":            *netwaits,
		"threads_peak_runs":   peak,
		"threads_before_runs": before,
		"block_ms":            *blockMs,
		"repeats":             *repeats,
	}
	measure.Print(out)
}
