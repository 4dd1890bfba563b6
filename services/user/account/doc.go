// Package account is the user service's domain: accounts and credentials
// (argon2id, PHC strings), sessions (Ed25519 access tokens, rotating
// refresh-token families with reuse detection), signing keys, the address
// book and the wishlist, admin search and role changes. It depends only on
// the Store and Products interfaces it declares; services/user/postgres
// implements Store, and services/user wires it to the bus.
//
// Security rules kept here: a password hash never leaves a Credential (no
// reply, log or event carries it); unknown emails and wrong passwords get
// the same answer after the same argon2 work; failed sign-ins are throttled
// as below; every method checks the actor, and a user only ever reaches
// their own profile, addresses and wishlist (another user's address is
// simply not_found). Signing keys are sealed at rest (AES-256-GCM, key id
// as additional data) when user.key-encryption-key is set; see
// services/user/postgres/keyseal.go.
//
// # Sign-in throttling
//
// Failed sign-ins slow the failing client down; they never lock an account
// for everyone (once, five failures from anywhere locked any account,
// the admin's included, for a quarter of an hour). Counters live in the
// store, in windows of Config.LoginWindow from a counter's first failure,
// so every replica sees the same ones:
//
//   - (account, client IP) pair: LoginFreeFailures failures pass; then the
//     pair waits LoginDelay after its latest failure, doubling with each
//     further failure up to LoginMaxDelay. A waiting pair is refused
//     whatever the password, so it tests no guesses meanwhile.
//   - Known places: a successful sign-in makes its client IP known to the
//     account for LoginKnownFor and forgets the pair's failures. A known IP
//     is throttled only by its pair, so failures elsewhere never keep the
//     owner out of the places they sign in from.
//   - Client IP: past LoginIPFailures failures over every account (a
//     spray), the IP waits for the window's end, except on accounts it is
//     known to.
//   - Account: past LoginAccountFailures failures from IPs not known to it
//     (a guessing botnet), unknown IPs wait for the window's end; its known
//     IPs do not, and their failures are not counted here.
//
// A refused attempt is resource_exhausted with details.retry_after in
// seconds (the gateway's 429 and Retry-After). The account is named by its
// normalized email, so unknown emails are throttled exactly like accounts
// and the answers reveal nothing. The check and the count are not one
// transaction: concurrent attempts of one pair may all pass its check, and
// the IP and account limits bound them. Wrong current passwords of a
// signed-in user (ChangePassword) are counted on their own, so others'
// failed sign-ins never block it.
package account
