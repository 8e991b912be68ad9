package workloads

// A StoreUser is a workload that keeps its data in the service's own data
// store (targets.Stocker) rather than in the harness's trusted resource,
// as a lock-free way of doing the work needs. The harness gives only a
// StoreUser Env.NewStore and Env.Decrements, and only when the target has
// a store: a StoreUser whose target has none says so in Prepare
// (Preparer), before anything starts.
type StoreUser interface {
	Workload
	// UsesStore marks the workload as a StoreUser; it does nothing.
	UsesStore()
}
