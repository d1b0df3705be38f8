package mappings

import "crmsync/pipeline"

func init() {
	pipeline.RegisterCodes(
		pipeline.Code{Name: CodeMissingKey, Stage: pipeline.StageMap,
			Meaning: "the mapping's key column is blank in this row, so the row cannot be told apart from others or tracked from run to run",
			Fix:     "fill the key in the source, or choose a key column that every row holds"},
		pipeline.Code{Name: CodeFieldCount, Stage: pipeline.StageMap,
			Meaning: "the row holds fewer values than the columns the mapping reads",
			Fix:     "correct the row in the source; a CSV line of the wrong length is rejected earlier, at the read stage"},
		pipeline.Code{Name: CodeExpression, Stage: pipeline.StageMap,
			Meaning: "a field's expression failed on this row's values (an invalid regular expression, a value built too long, or another runtime error); the reason names the field",
			Fix:     "correct the expression in the mapping, or guard it for such values; `crmsync preview` shows what it gives"},
		pipeline.Code{Name: CodeType, Stage: pipeline.StageMap,
			Meaning: "a field's expression gave something other than text (a list, a map, a number that is not finite), or a function was given the wrong kind of argument",
			Fix:     "make the expression give text, for example by building it with concat or join; `crmsync preview` shows what it gives"},
		pipeline.Code{Name: CodeUnknownCountry, Stage: pipeline.StageMap,
			Meaning: "country() knows no country by this name or code",
			Fix:     "correct the value in the source, or map the source's own names with a lookup table"},
		pipeline.Code{Name: CodeBadPhone, Stage: pipeline.StageMap,
			Meaning: "phone() cannot read the value as a phone number, or it is not valid for its region, or it has no +country code and the mapping sets no phone_region",
			Fix:     "correct the number in the source, or set options.phone_region (or phone(col, region)) for numbers written without +"},
		pipeline.Code{Name: CodeLookupMiss, Stage: pipeline.StageMap,
			Meaning: "the value is not a key of the lookup table the mapping names, or the table does not exist",
			Fix:     "add the key to the lookup table, or give lookup a default (lookup(\"table\", col, \"\"))"},
		pipeline.Code{Name: CodeBadDate, Stage: pipeline.StageMap,
			Meaning: "date() or date_iso() cannot read the value as a date in the layout given, or it is ambiguous (day/month or month/day)",
			Fix:     "correct the value in the source, or give date(value, layout_in, layout_out) the source's layout"},
	)
}

// Suggest returns the candidate closest to name, for a did-you-mean, or
// "" when none is close enough to be a plausible typo.
func Suggest(name string, candidates []string) string { return suggest(name, candidates) }
