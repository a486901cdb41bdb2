/*
 * DESIGN: CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78;
 * RFC 3720 appendix B.4) for the log entries' checksums. The SSE4.2 crc32
 * instruction is used when the CPU has it (checked once at run time, the
 * rest of the build stays generic); otherwise a byte-wise table.
 */
#include <stdint.h>
#include <string.h>

#include "store/store_int.h"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
#if defined(__x86_64__) && !defined(K1S_FUZZ)
static int crc_hw;
#endif

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
#if defined(__x86_64__) && !defined(K1S_FUZZ)
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && !defined(K1S_FUZZ)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_run(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c;
    while (len--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return crc;
}
#endif

uint32_t store_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
#if defined(__x86_64__) && !defined(K1S_FUZZ)
    if (crc_hw)
        return ~crc_hw_run(crc, data, len);
#endif
    return ~crc_sw(crc, data, len);
}
