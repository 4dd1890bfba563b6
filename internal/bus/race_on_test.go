//go:build race

package bus_test

// raceEnabled: the race detector changes allocation counts (and sync.Pool
// drops items at random), so allocation guards skip under -race.
const raceEnabled = true
