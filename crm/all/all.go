// Package all links every CRM connector into a binary: import it for its
// side effects where the commands need the registry filled.
package all

import (
	// Each connector registers itself with package crm.
	_ "crmsync/sinks/count"
	_ "crmsync/sinks/revnue"
	_ "crmsync/sinks/tamio"
	_ "crmsync/sinks/tiquo"
)
