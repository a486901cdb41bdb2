#include "lib/fs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/err.h"

/* Creates every directory along `path`; the last component too when
 * `last` is set. */
static int fs_mkdirs(const char *path, mode_t mode, int last)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof tmp)
        return K1S_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return err_from_errno(errno);
        *p = '/';
    }
    if (last && mkdir(tmp, mode) != 0 && errno != EEXIST)
        return err_from_errno(errno);
    return 0;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
    return fs_mkdirs(path, mode, 1);
}

int fs_mkdir_parents(const char *path, mode_t mode)
{
    return fs_mkdirs(path, mode, 0);
}
