// Package docker is the Docker implementation of runtime.Runtime.
//
// # Docker specifics
//
// Each run gets an internal bridge network named lockstorm-<run id> with a
// /24 subnet of its own, chosen to avoid every existing Docker network and
// every host interface and route. Nodes cannot reach anything outside that
// network; the host reaches them through the bridge. Containers are named
// lockstorm-<run id>-<node>, have the node name as host name, carry the
// labels lockstorm.run and lockstorm.node, and get only the NET_ADMIN
// capability on top of Docker's defaults (for iptables). Every node's
// /etc/hosts maps n1..nN to their IPs, so names resolve even while a peer is
// dead or partitioned away. The Docker daemon must run on the same host as
// the harness, since the harness dials the node IPs.
package docker
