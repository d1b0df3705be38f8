// Package report writes what a sync run leaves for people to read in its
// --out directory: diff.csv, every change the run made (or, in a dry run,
// would have made), field by field; and report.html, one page that sums the
// run up.
//
// Both files hold customer data, so both are created with mode 0600.
// report.html is self-contained (inline CSS and SVG, no script, no fonts,
// no link to anything), so it can be mailed or archived and still open
// years later on a machine with no network.
package report
