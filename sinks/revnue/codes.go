package revnue

import "crmsync/pipeline"

// Reject codes of the rows Revnue refuses, or that the connector keeps
// from Revnue because writing them would lose data. The 401 and 403 are
// absent: they stop the whole run.
const (
	// CodeInvalid is a 400 on a field: Revnue refused a value.
	CodeInvalid = "revnue_invalid"
	// CodeNameTaken is the 400 of a name another customer holds.
	CodeNameTaken = "revnue_name_taken"
	// CodeNotFound is a 404 of a customer deleted during the run.
	CodeNotFound = "revnue_not_found"
	// CodeTemplateValue is a custom field value that is not of its
	// template type or out of its bounds, caught before anything is sent.
	CodeTemplateValue = "revnue_template_value"
	// CodeCarryOver is a value Revnue holds that the connector cannot
	// send back as Revnue takes it (a country name it does not know, a
	// template it did not read): the whole-record update would erase it,
	// so nothing is sent.
	CodeCarryOver = "revnue_carry_over"
)

// APICodes explain the codes.
var APICodes = []pipeline.Code{
	{Name: CodeInvalid, Stage: pipeline.StageAPI,
		Meaning: "Revnue refused the value of the field the reject names (a 400 naming it), although it passed crmsync's own checks",
		Fix:     "correct the value in the source or the mapping; the reason gives Revnue's words"},
	{Name: CodeNameTaken, Stage: pipeline.StageAPI,
		Meaning: "another Revnue customer of the account holds this name (names are unique without regard to case, across the account's companies), and crmsync could not bind it to this row: it is in another company than the one crmsync reads, or was created during the run",
		Fix:     "merge the two customers in Revnue, give the row another name, or set REVNUE_COMPANY to the customer's company; a run that reads the whole account (--full-resync) binds a customer of its company"},
	{Name: CodeNotFound, Stage: pipeline.StageAPI,
		Meaning: "Revnue answered 404: the customer was deleted in Revnue while the run wrote to it",
		Fix:     "run again: the next run finds the customer by its name, or creates it"},
	{Name: CodeTemplateValue, Stage: pipeline.StageValidate,
		Meaning: "a custom template field's value is not of the field's type or is out of its bounds (money 0.00 to 999999999999999.00 with at most two decimals, number an integer within ±999999999999999, date YYYY-MM-DD, text at most 50 characters); nothing was sent",
		Fix:     "correct the value in the source, or convert it in the mapping"},
	{Name: CodeCarryOver, Stage: pipeline.StageAPI,
		Meaning: "Revnue holds a value for this customer that crmsync cannot write back as Revnue takes it (a country name it has no ISO code for, custom values of a template it did not read); a whole-record update would have erased it, so nothing was sent",
		Fix:     "correct the value in Revnue, or map the field so that the row gives it"},
}

func init() {
	pipeline.RegisterCodes(APICodes...)
	pipeline.RegisterMatchCodes(&schema)
}
