package csv

// candidates are the delimiters detection chooses among, in the order that
// breaks ties.
var candidates = [...]byte{',', ';', '\t', '|'}

// detectDelimiter picks the delimiter from the first lines of the input.
// The candidate found in the header the same number of times as on every
// sampled line wins; failing that, the one found most often in the header.
// Quoted text is skipped, so a comma inside a quoted field does not count.
// complete says the sample holds the whole input, so its last line counts
// even without a line break.
func detectDelimiter(sample []byte, complete bool) rune {
	var (
		lines   [][len(candidates)]int
		cur     [len(candidates)]int
		quoted  bool
		nonEmpt bool
	)
scan:
	for _, c := range sample {
		switch {
		case c == '"':
			quoted = !quoted
			nonEmpt = true
		case quoted:
		case c == '\n' || c == '\r':
			if nonEmpt {
				lines = append(lines, cur)
				if len(lines) > sampleLines {
					break scan
				}
			}
			cur = [len(candidates)]int{}
			nonEmpt = false
		default:
			nonEmpt = true
			for k, d := range candidates {
				if c == d {
					cur[k]++
				}
			}
		}
	}
	// A header longer than the sample still tells something.
	if nonEmpt && (complete || len(lines) == 0) {
		lines = append(lines, cur)
	}
	if len(lines) == 0 {
		return ','
	}
	best, bestScore := rune(','), 0
	for k, d := range candidates {
		h := lines[0][k]
		if h == 0 {
			continue
		}
		score := h
		consistent := true
		for _, l := range lines[1:] {
			if l[k] != h {
				consistent = false
				break
			}
		}
		if consistent {
			score += 1 << 30
		}
		if score > bestScore {
			best, bestScore = rune(d), score
		}
	}
	return best
}
