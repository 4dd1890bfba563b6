package redisx

// NewClient is newClient for the tests: a client that has not contacted
// Redis, so a test can add a hook behind the breaker first.
var NewClient = newClient
