// Package pipeline holds crmsync's contracts and the engine that drives them.
//
// A run reads rows from a [Source], turns each into a [Record] with a
// mapping, validates it against the [Schema] the sink declares, and hands
// batches of records to a [Sink]. Every row ends in exactly one [Outcome]:
// created, updated, unchanged, or rejected with a [Reject] that names its
// stage, code, source column and target field.
//
// Errors carry a class (see [ClassOf]): retryable errors are retried with
// backoff, permanent errors reject one row and the run goes on, fatal errors
// stop the run at once.
package pipeline
