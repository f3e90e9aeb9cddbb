//go:build cgo

// The stall corpus's call into C (cause 128): scripts/record_stall_corpus.py builds the
// program with CGO_ENABLED=1 for it (labkit.golab.run_go(cgo=True)); without cgo this file
// is left out and cause 128 refuses to run.
package main

/*
#include <time.h>

// slow_encode stands for a C library's work (a codec, a compressor): it computes for ms
// milliseconds of the thread's wall clock and returns a checksum.
static unsigned long slow_encode(int ms) {
	struct timespec t0, t;
	unsigned long x = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 1000; i++) x += (unsigned long)i * 2654435761u;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < ms * 1000000L);
	return x;
}
*/
import "C"

func init() {
	encode = func(ms int) uint64 { return uint64(C.slow_encode(C.int(ms))) }
}
