/*
 * inventory.h - the node's accelerators, read from a root folder and kept
 * current (inotify on /dev, and `reload`).  Loop thread.
 */
#ifndef ARW_INVENTORY_H
#define ARW_INVENTORY_H

#include "accel.h"

/* Read the inventory under `root` ("/" when NULL or empty), publish
 * accelerators.json, and watch /dev for device nodes. */
int inv_init(const char *root);
/* Read it again and publish (why: for the log). */
void inv_rescan(const char *why);
const struct inventory *inv_get(void);
/* Read it once, with no watch and nothing published (for --check). */
void inv_load(const char *root);
void inv_fini(void);

#endif
