package tamio

import (
	"strconv"

	"crmsync/pipeline"
)

// APICodes explain tamio's error codes that reject a row: a row refused
// with one of them carries it as its code, and one refused with any other
// carries pipeline.CodeAPI. 1003 is absent: a refused permission stops
// the whole run.
var APICodes = []pipeline.Code{
	{Name: strconv.Itoa(CodeValidation), Stage: pipeline.StageAPI,
		Meaning: "tamio's ValidationError: tamio refused a value of the field the reject names, although it passed crmsync's own checks",
		Fix:     "correct the value in the source or the mapping; the reason gives tamio's words"},
	{Name: strconv.Itoa(CodeNotFound), Stage: pipeline.StageAPI,
		Meaning: "tamio's ResourceNotFound: an id the row sends is unknown to the account, most often the teammate_id",
		Fix:     "map owners to teammates that exist: lookup(\"tamio:teammates\", owner_email), or a lookup table of current teammate ids; on --target sandbox, declare the teammates with --sandbox-config"},
	{Name: strconv.Itoa(CodeEmailUsed), Stage: pipeline.StageAPI,
		Meaning: "tamio's EmailAlreadyUsed: the update would give this customer an email that another customer of the account holds",
		Fix:     "merge the two customers in tamio, or correct the email in the source"},
	{Name: strconv.Itoa(CodeCustomerExists), Stage: pipeline.StageAPI,
		Meaning: "tamio's CustomerAlreadyExists: a customer with this email was created in the account while the run was creating it",
		Fix:     "run again: the next run finds the customer by its email and updates it"},
}

func init() {
	pipeline.RegisterCodes(APICodes...)
	pipeline.RegisterMatchCodes(&schema)
}
