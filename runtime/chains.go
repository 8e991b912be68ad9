package runtime

// The iptables chains of lockstorm's own that the network nemeses fill
// on the nodes and client machines. They are the only rules lockstorm
// ever adds: a jump into the chain from a built-in chain, and the rules
// inside it. Runtimes that run on machines they do not own (runtime/ssh)
// remove every one of them at teardown.
const (
	// PartitionChain, in the filter table and jumped to from INPUT,
	// drops what a node or client takes in from the machines it is cut
	// off from.
	PartitionChain = "LOCKSTORM-PART"
	// PartitionOutChain, in the filter table and jumped to from OUTPUT
	// in client machines, drops what a client sends to the servers it is
	// cut off from.
	PartitionOutChain = "LOCKSTORM-PARTO"
	// ConnDropChain, in the filter table and jumped to from INPUT and
	// OUTPUT in client machines, resets connections.
	ConnDropChain = "LOCKSTORM-DROP"
	// LinkChain, in the nat table and jumped to from OUTPUT in client
	// machines, sends traffic through the link nemesis's proxies.
	LinkChain = "LOCKSTORM-LINK"
)

// A Chain is one of lockstorm's iptables chains: its table, its name and
// the built-in chains that may jump to it.
type Chain struct {
	Table, Name string
	Hooks       []string
}

// Chains lists every chain of lockstorm's own, for the code that removes
// them.
var Chains = []Chain{
	{Table: "filter", Name: PartitionChain, Hooks: []string{"INPUT", "OUTPUT"}},
	{Table: "filter", Name: PartitionOutChain, Hooks: []string{"INPUT", "OUTPUT"}},
	{Table: "filter", Name: ConnDropChain, Hooks: []string{"INPUT", "OUTPUT"}},
	{Table: "nat", Name: LinkChain, Hooks: []string{"OUTPUT", "PREROUTING"}},
}
