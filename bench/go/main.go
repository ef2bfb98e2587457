// Command bench runs the Go contenders of `cargo xtask bench`: client-go's
// work queue and informer indexer, on the same workloads as the Rust bench
// crate (bench), each measured iteration printing one JSON line; and
// the User controller on client-go, which the controller benchmark's harness
// runs and measures from outside.
//
//	bench workqueue --workload single|batch|concurrent --ops N ...
//	bench cache-memory --objects N
//	bench controller --directory DIR --metrics-addr ADDR --workers N
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: bench workqueue|cache-memory [flags]")
	}
	var err error
	switch os.Args[1] {
	case "workqueue":
		err = runWorkqueue(os.Args[2:])
	case "cache-memory":
		err = runCacheMemory(os.Args[2:])
	case "controller":
		err = runController(os.Args[2:])
	default:
		err = fmt.Errorf("unknown suite %q (want workqueue, cache-memory or controller)", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	os.Exit(2)
}

// emit prints one result as a JSON line on stdout.
func emit(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(string(line))
}
