// netwait: a TCP echo over loopback (127.0.0.1 only); the client's reads and the server's
// Accept and reads park in the netpoller (waitReasonIOWait, traced as reason "network").
package main

import (
	"bufio"
	"net"
	"time"

	"labkit.local/traceprograms/internal/tracing"
)

func serve(ln net.Listener) {
	conn, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		time.Sleep(time.Millisecond) // the client's read waits on the network meanwhile
		if _, err := conn.Write([]byte(line)); err != nil {
			return
		}
	}
}

func echo(n int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go serve(ln)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for i := 0; i < n; i++ {
		if _, err := conn.Write([]byte("ping\n")); err != nil {
			panic(err)
		}
		if _, err := r.ReadString('\n'); err != nil {
			panic(err)
		}
	}
}

func main() {
	tracing.Run(func() { echo(10) })
}
