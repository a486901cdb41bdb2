/*
 * log — leveled logging to stderr, one line per call.
 *
 * Lines look like `2026-11-25T04:40:01.123Z INFO  store: opened ...`. Any
 * thread may log; each line is written with one write(2), so lines of
 * different threads never interleave. The level is process-wide.
 */
#ifndef K1S_LIB_LOG_H
#define K1S_LIB_LOG_H

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3,
};

/* Sets the process-wide level; messages above it are dropped. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warn", "info", "debug" (or 0..3). Returns 0 or
 * K1S_EINVAL. */
int log_parse_level(const char *s, enum log_level *ret_level);

void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
