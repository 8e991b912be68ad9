// Package testdocker holds the fixtures of lockstorm's Docker tests, built
// on github.com/ory/dockertest/v3. It is a test helper package, like
// net/http/httptest: only _test.go files and other test helper packages
// import it (internal/layers checks this).
//
// A Docker test starts with Need, which skips it in -short mode or when no
// engine answers (and fails it when the CI variable is set), or with a
// helper that calls Need first: Runtime, Client, Start. Everything a test
// creates carries the label Label, and Count and Remove find it again
// through the pool's client.
//
// The package does not import runtime/docker, whose own tests use it: a
// test hands it docker.New (Runtime) or a runtime.Runtime (Start).
package testdocker
