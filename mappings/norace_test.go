//go:build !race

package mappings

const raceEnabled = false
