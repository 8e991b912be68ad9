package targets

// All returns a fresh instance of every registered target, in the order
// `lockstorm targets` lists them. Targets keep state between Setup and
// Teardown, so each run takes its own instance. Add a new target here.
func All() []Target {
	return []Target{
		NewInMemory(),
		NewEtcd(),
		NewZookeeper(),
		NewRedis(),
		NewRedlock(),
		NewSentinel(),
		NewPostgresAdvisory(),
		NewPostgresRow(),
		NewPostgresRowExpiry(),
	}
}
