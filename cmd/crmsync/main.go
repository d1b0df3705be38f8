// Command crmsync syncs customer records from CSV and Parquet exports into
// CRMs, exports and erases personal data, and runs the CRM emulators.
package main

import (
	"os"

	"crmsync/cmd/crmsync/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
