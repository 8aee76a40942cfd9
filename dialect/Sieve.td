//===- Sieve.td - Umbrella for code and documentation generation -*- tablegen -*-===//

#ifndef SIEVE_TD
#define SIEVE_TD

include "dialect/SieveDialect.td"
include "dialect/SieveAttrs.td"
include "dialect/SieveOps.td"

#endif // SIEVE_TD
