//go:build race

package mappings

// raceEnabled lets the slowest exhaustive tests sample their inputs when
// the race detector multiplies their cost.
const raceEnabled = true
