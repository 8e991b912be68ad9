// Command lockstorm tests whether distributed locks keep mutual exclusion
// under the faults of production. See `lockstorm --help` and the README.
package main

import (
	"os"

	"github.com/lockstorm/lockstorm/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Extensions{}))
}
