// Package layout describes the combined table of a subject-access export
// (crmsync export): its columns, where each one takes its value (a path in
// the customer object as the CRM answered it, or in a record related to
// the customer), and how a customer becomes a row of it.
//
// A connector may declare its own layout through the registry
// (crm.Connector.Export); Default derives one from a schema for the
// others. Whatever the layout, the table's last column, OtherFields, holds
// what the CRM sent that no column took, so the table loses nothing.
//
// The package depends on the standard library and package pipeline only,
// so that a connector declares its layout without linking the table
// writers of package gdpr.
package layout
