// Command cgohang blocks one goroutine inside a C function (cgo), prints "ready" and waits for
// SIGQUIT: the dump then shows the cgo call frames (runtime.cgocall, main._Cfunc_...).
package main

/*
#include <unistd.h>
static void block_in_c(void) { for (;;) sleep(60); }
*/
import "C"

import (
	"fmt"
	"os"
	"time"
)

func main() {
	go C.block_in_c()
	time.Sleep(100 * time.Millisecond)
	fmt.Println("ready")
	os.Stdout.Sync()
	select {}
}
