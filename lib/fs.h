/*
 * fs — small filesystem helpers shared by the server, the store and the
 * agent.
 *
 * Thread-safe, and async-signal-safe (only mkdir(2) and stack buffers), so
 * a forked child may call them before exec.
 */
#ifndef K1S_LIB_FS_H
#define K1S_LIB_FS_H

#include <sys/types.h>

/* Creates `path` and its missing parents with `mode` (like mkdir -p). An
 * existing directory is success. Returns 0, K1S_EINVAL (empty or longer
 * than PATH_MAX), or the translated errno of the failing mkdir. */
int fs_mkdir_p(const char *path, mode_t mode);

/* The same for the parents of `path` only (the directory a file at `path`
 * will be created in). */
int fs_mkdir_parents(const char *path, mode_t mode);

#endif
