package cli

// The commands reach the CRM APIs through the crm registry alone; this
// import fills it.
import _ "crmsync/crm/all"
