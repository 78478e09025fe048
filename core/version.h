/* version.h - the version of arw-supervisor, shown by metrics.prom
 * (arw_build_info) and the start-up log line. */
#ifndef ARW_VERSION_H
#define ARW_VERSION_H

#define ARW_VERSION "0.4.0"

#endif
