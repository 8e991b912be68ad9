// Command lockstorm-extension is a lockstorm binary of its own, built by a
// Go module outside lockstorm's repository: lockstorm's targets, workloads
// and nemeses, plus the redis-setnx target and the freeze nemesis below.
//
//	go build -o lockstorm-extension .
//	./lockstorm-extension run --target redis-setnx --nemesis freeze,client-pause --time-limit 30s
package main

import (
	"os"

	"github.com/lockstorm/lockstorm/cli"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/targets"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Extensions{
		Targets: []func() targets.Service{func() targets.Service { return &SetNX{} }},
		Nemeses: []nemesis.Nemesis{Freeze{}},
	}))
}
