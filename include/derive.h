/* derive.h — the derived facts of the check pass (sql/derive.sql plus the
 * lower claims, which src/derive.c computes with hash sets). */
#ifndef OVL2FSCK_DERIVE_H
#define OVL2FSCK_DERIVE_H

#include <stddef.h>

#include "db.h"

/* Fill overlay_ref and expected_lower from the loaded scan tables (inside
 * the caller's transaction). 0, or -1 with a message in err. */
int derive_run(struct db *db, char *err, size_t errlen);

#endif
