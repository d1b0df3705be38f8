package tiquo

import "crmsync/pipeline"

// codePrefix starts the reject code of each tiquo error code: the codes
// are words other APIs use too (COUNT's validation_error), and the
// reference holds one entry per code and stage.
const codePrefix = "tiquo_"

// Reject codes of tiquo's refusals of one row. unauthorized, forbidden and
// insufficient_scope are absent: they stop the whole run.
const (
	CodeValidation  = "tiquo_validation_error"
	CodeEmailExists = "tiquo_email_exists"
	CodeNotFound    = "tiquo_not_found"
)

// APICodes explain tiquo's error codes that reject a row.
var APICodes = []pipeline.Code{
	{Name: CodeValidation, Stage: pipeline.StageAPI,
		Meaning: "tiquo's validation_error: tiquo refused a value of the field the reject names, although it passed crmsync's own checks",
		Fix:     "correct the value in the source or the mapping; the reason gives tiquo's words"},
	{Name: CodeEmailExists, Stage: pipeline.StageAPI,
		Meaning: "tiquo's email_exists: the update would give this customer an email another tiquo customer holds (emails are unique without regard to case)",
		Fix:     "merge the two customers in tiquo, or correct the email in the source"},
	{Name: CodeNotFound, Stage: pipeline.StageAPI,
		Meaning: "tiquo's not_found: the customer was deleted in tiquo while the run was writing to it",
		Fix:     "run again: the next run finds the customer by its email, or creates it"},
}

func init() {
	pipeline.RegisterCodes(APICodes...)
	pipeline.RegisterMatchCodes(&schema)
}
