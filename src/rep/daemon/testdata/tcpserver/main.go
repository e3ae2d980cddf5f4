// Command tcpserver listens on $PORT and greets every connection; the rep
// daemon's end-to-end test runs it as an LRP instance.
package main

import (
	"fmt"
	"log"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "0.0.0.0:"+os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(c, "hello from %s\n", os.Getenv("INSTANCE_GUID"))
		c.Close()
	}
}
