package count

import "crmsync/pipeline"

// codePrefix starts the reject code of each COUNT error code: the codes
// are words other APIs use too (tiquo's validation_error), and the
// reference holds one entry per code and stage.
const codePrefix = "count_"

// Reject codes of COUNT's refusals of one row. unauthorized is absent: it
// stops the whole run.
const (
	CodeValidation  = "count_validation_error"
	CodeEmailExists = "count_email_exists"
	CodeNotFound    = "count_not_found"
)

// APICodes explain COUNT's error codes that reject a row.
var APICodes = []pipeline.Code{
	{Name: CodeValidation, Stage: pipeline.StageAPI,
		Meaning: "COUNT's validation_error: COUNT refused a value of the field the reject names, although it passed crmsync's own checks",
		Fix:     "correct the value in the source or the mapping; the reason gives COUNT's words"},
	{Name: CodeEmailExists, Stage: pipeline.StageAPI,
		Meaning: "COUNT's email_exists: another COUNT customer of the team holds this email (emails are unique without regard to case); crmsync checks a changed email with find-by-email before the update, and writes nothing when it is taken",
		Fix:     "merge the two customers in COUNT, or correct the email in the source"},
	{Name: CodeNotFound, Stage: pipeline.StageAPI,
		Meaning: "COUNT's not_found: the customer was deleted in COUNT while the run was writing to it",
		Fix:     "run again: the next run finds the customer by its email, or creates it"},
}

func init() {
	pipeline.RegisterCodes(APICodes...)
	pipeline.RegisterMatchCodes(&schema)
}
