package pipeline_test

import (
	"strings"
	"testing"

	"crmsync/pipeline"
)

// TestRegisterCodesRefusesIncompleteOrRepeated: an entry must explain
// itself, and a code is defined once per stage.
func TestRegisterCodesRefusesIncompleteOrRepeated(t *testing.T) {
	for name, c := range map[string]pipeline.Code{
		"no fix":     {Name: "t_nofix", Stage: pipeline.StageMap, Meaning: "m"},
		"no meaning": {Name: "t_nomeaning", Stage: pipeline.StageMap, Fix: "f"},
		"no stage":   {Name: "t_nostage", Meaning: "m", Fix: "f"},
		"repeated":   {Name: pipeline.CodeRequired, Stage: pipeline.StageValidate, Meaning: "m", Fix: "f"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RegisterCodes(%+v) did not panic", name, c)
				}
			}()
			pipeline.RegisterCodes(c)
		}()
	}
}

// TestKnownCode lets through only a name registered at the stage asked.
func TestKnownCode(t *testing.T) {
	if got := pipeline.KnownCode(pipeline.StageValidate, pipeline.CodeEmail, pipeline.CodeAPI); got != pipeline.CodeEmail {
		t.Errorf("KnownCode(validate, email) = %q", got)
	}
	if got := pipeline.KnownCode(pipeline.StageAPI, pipeline.CodeEmail, pipeline.CodeAPI); got != pipeline.CodeAPI {
		t.Errorf("KnownCode(api, email) = %q, want the fallback: email is a validate code", got)
	}
	if got := pipeline.KnownCode(pipeline.StageAPI, "4242", pipeline.CodeAPI); got != pipeline.CodeAPI {
		t.Errorf("KnownCode(api, 4242) = %q, want the fallback", got)
	}
}

// TestCodesOrderedByStage: the reference reads in the order a row meets
// the stages, and every entry explains itself.
func TestCodesOrderedByStage(t *testing.T) {
	order := map[pipeline.Stage]int{pipeline.StageRead: 0, pipeline.StageMap: 1, pipeline.StageValidate: 2, pipeline.StageAPI: 3}
	codes := pipeline.Codes()
	for i, c := range codes {
		if c.Meaning == "" || c.Fix == "" || !strings.HasPrefix(c.Anchor(), "code-"+string(c.Stage)+"-") {
			t.Errorf("entry %+v", c)
		}
		if i > 0 && order[codes[i-1].Stage] > order[c.Stage] {
			t.Errorf("%s (%s) comes after %s (%s)", c.Name, c.Stage, codes[i-1].Name, codes[i-1].Stage)
		}
	}
	if len(pipeline.LookupCode(pipeline.CodeDuplicateKey)) != 1 || len(pipeline.LookupCode("no_such_code")) != 0 {
		t.Errorf("LookupCode finds the wrong entries")
	}
}
