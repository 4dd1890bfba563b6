package user_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/services/user"
)

// slowThrottle makes a slowed pair wait minutes, so that a test's next
// attempt always falls inside the wait however slow the machine is.
func slowThrottle(c *user.Config) {
	c.LoginFreeFailures = 3
	c.LoginDelay = 10 * time.Minute
	c.LoginMaxDelay = 10 * time.Minute
}

func loginAs(email, password, ip string) contracts.Envelope {
	return withIP(envl(contracts.LoginRequest{Email: email, Password: password}), ip)
}

// retryAfter checks a throttled answer's retry_after detail (the gateway's
// Retry-After) and returns it.
func retryAfter(t *testing.T, e *contracts.Error, most time.Duration) float64 {
	t.Helper()
	ra, _ := e.Details["retry_after"].(float64)
	if ra < 1 || ra > most.Seconds() {
		t.Fatalf("retry_after = %v, want 1..%v", e.Details, most.Seconds())
	}
	return ra
}

// An attacker failing many times for the victim's email neither stops the
// victim signing in from the IP they signed in from before nor from a new
// IP (no lockout for everyone); the attacker's own IP is slowed down.
func TestFailedSignInsFromOneIPDoNotLockOutTheOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmin, slowThrottle)
	const victimIP, attackerIP = "198.51.100.7", "203.0.113.66"
	var tok contracts.Tokens
	e.ok(anon, contracts.MethodUserLogin, loginAs(adminEmail, adminPassword, victimIP), &tok)

	for i := 0; i < 3; i++ {
		e.fail(anon, contracts.MethodUserLogin, loginAs(adminEmail, "Wrong-Passw0rd", attackerIP), contracts.CodeUnauthenticated)
	}
	// Slowed: even the right password waits, so a slowed pair cannot test
	// guesses.
	for i := 0; i < 5; i++ {
		lim := e.fail(anon, contracts.MethodUserLogin, loginAs(adminEmail, "Wrong-Passw0rd", attackerIP), contracts.CodeResourceExhausted)
		retryAfter(t, lim, 10*time.Minute)
	}
	lim := e.fail(anon, contracts.MethodUserLogin, loginAs(adminEmail, adminPassword, attackerIP), contracts.CodeResourceExhausted)
	retryAfter(t, lim, 10*time.Minute)

	e.ok(anon, contracts.MethodUserLogin, loginAs(adminEmail, adminPassword, victimIP), &tok)
	if tok.User.Email != adminEmail || tok.AccessToken == "" {
		t.Fatalf("victim's sign-in: %+v", tok.User)
	}
	e.ok(anon, contracts.MethodUserLogin, loginAs(adminEmail, adminPassword, "192.0.2.10"), &tok)
}

// An IP spraying many accounts (existing or not) is stopped by the per-IP
// limit although no pair of it is slowed; other IPs are not.
func TestIPSprayingAccountsIsLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, slowThrottle, func(c *user.Config) { c.LoginIPFailures = 8 })
	e.register("erin@example.com", "Erin", "")
	const sprayer = "203.0.113.9"
	for i := 0; i < 8; i++ {
		e.fail(anon, contracts.MethodUserLogin, loginAs(uniqueEmail("ghost"), "Wrong-Passw0rd", sprayer), contracts.CodeUnauthenticated)
	}
	lim := e.fail(anon, contracts.MethodUserLogin, loginAs("erin@example.com", goodPassword, sprayer), contracts.CodeResourceExhausted)
	retryAfter(t, lim, 15*time.Minute)
	var tok contracts.Tokens
	e.ok(anon, contracts.MethodUserLogin, loginAs("erin@example.com", goodPassword, "203.0.113.10"), &tok)
}

// An IP known to an account is not held by the IP's limit on that account
// (a household behind one address with a noisy neighbour), only by its own
// failures there.
func TestKnownIPIsThrottledOnlyByItsOwnFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, slowThrottle, func(c *user.Config) { c.LoginIPFailures = 4; c.LoginAccountFailures = 4 })
	e.register("fay@example.com", "Fay", "")
	const home = "198.51.100.20"
	var tok contracts.Tokens
	e.ok(anon, contracts.MethodUserLogin, loginAs("fay@example.com", goodPassword, home), &tok)
	for i := 0; i < 4; i++ {
		e.fail(anon, contracts.MethodUserLogin, loginAs(uniqueEmail("ghost"), "Wrong-Passw0rd", home), contracts.CodeUnauthenticated)
	}
	// Many IPs fail on fay's account: past the account limit, unknown IPs
	// wait; home does not.
	for i := 0; i < 4; i++ {
		e.fail(anon, contracts.MethodUserLogin, loginAs("fay@example.com", "Wrong-Passw0rd", fmt.Sprintf("203.0.113.%d", 100+i)), contracts.CodeUnauthenticated)
	}
	e.fail(anon, contracts.MethodUserLogin, loginAs("fay@example.com", goodPassword, "192.0.2.44"), contracts.CodeResourceExhausted)
	e.ok(anon, contracts.MethodUserLogin, loginAs("fay@example.com", goodPassword, home), &tok)
	// Home's own failures on the account slow it down like any pair.
	for i := 0; i < 3; i++ {
		e.fail(anon, contracts.MethodUserLogin, loginAs("fay@example.com", "Wrong-Passw0rd", home), contracts.CodeUnauthenticated)
	}
	e.fail(anon, contracts.MethodUserLogin, loginAs("fay@example.com", goodPassword, home), contracts.CodeResourceExhausted)
}

// A throttled attempt answers the same for an account and for an unknown
// email, so the throttle does not reveal which emails have accounts.
func TestThrottleAnswersAlikeForUnknownEmails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, slowThrottle)
	e.register("gus@example.com", "Gus", "")
	const ip = "203.0.113.30"
	var answers [2][]byte
	for n, email := range []string{"gus@example.com", "nobody-here@example.com"} {
		for i := 0; i < 3; i++ {
			e.fail(anon, contracts.MethodUserLogin, loginAs(email, "Wrong-Passw0rd", ip), contracts.CodeUnauthenticated)
		}
		st, b := e.call(anon, contracts.MethodUserLogin, loginAs(email, "Wrong-Passw0rd", ip))
		if st != string(contracts.CodeResourceExhausted) {
			t.Fatalf("%s: status %s: %s", email, st, b)
		}
		answers[n] = b
	}
	// The waits may differ by the second the calls took apart.
	digits := regexp.MustCompile(`[0-9]+`)
	if a, b := digits.ReplaceAll(answers[0], nil), digits.ReplaceAll(answers[1], nil); string(a) != string(b) {
		t.Fatalf("throttled answers differ:\n%s\n%s", answers[0], answers[1])
	}
}

// Others' failed sign-ins never keep the signed-in owner from changing
// their password; the owner's own wrong current passwords are limited.
func TestPasswordChangeCountsApartFromSignIns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, slowThrottle, func(c *user.Config) { c.LoginAccountFailures = 2 })
	u := e.register("hal@example.com", "Hal", "")
	me := actorOf(u)
	for i := 0; i < 2; i++ {
		e.fail(anon, contracts.MethodUserLogin, loginAs("hal@example.com", "Wrong-Passw0rd", fmt.Sprintf("203.0.113.%d", 40+i)), contracts.CodeUnauthenticated)
	}
	// The account limit holds for unknown IPs…
	e.fail(anon, contracts.MethodUserLogin, loginAs("hal@example.com", goodPassword, "203.0.113.49"), contracts.CodeResourceExhausted)
	// …not for the owner's password change.
	e.ok(me, contracts.MethodUserPasswordChange, envl(contracts.ChangePasswordRequest{CurrentPassword: goodPassword, NewPassword: "Another-Pass-9"}), nil)
	for i := 0; i < 5; i++ {
		e.fail(me, contracts.MethodUserPasswordChange, envl(contracts.ChangePasswordRequest{CurrentPassword: fmt.Sprintf("Nope-nope-%d", i), NewPassword: "Third-Pass-77"}), contracts.CodeInvalidArgument)
	}
	lim := e.fail(me, contracts.MethodUserPasswordChange, envl(contracts.ChangePasswordRequest{CurrentPassword: "Another-Pass-9", NewPassword: "Third-Pass-77"}), contracts.CodeResourceExhausted)
	retryAfter(t, lim, 15*time.Minute)
}
