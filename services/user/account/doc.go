// Package account is the user service's domain: accounts and credentials
// (argon2id, PHC strings), sessions (Ed25519 access tokens, rotating
// refresh-token families with reuse detection), signing keys, the address
// book and the wishlist, admin search and role changes. It depends only on
// the Store and Products interfaces it declares; services/user/postgres
// implements Store, and services/user wires it to the bus.
//
// Security rules kept here: a password hash never leaves a Credential (no
// reply, log or event carries it); unknown emails and wrong passwords get
// the same answer after the same argon2 work; failed sign-ins are limited
// per account and per client IP; every method checks the actor, and a user
// only ever reaches their own profile, addresses and wishlist (another
// user's address is simply not_found). Signing keys are sealed at rest
// (AES-256-GCM, key id as additional data) when user.key-encryption-key is
// set; see services/user/postgres/keyseal.go.
package account
