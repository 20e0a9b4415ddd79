// CRC-32C (Castagnoli): SSE4.2 instruction on x86_64 when available, slicing-by-8 software otherwise.
#include "CCRC32C.h"

#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define FJORD_CRC32C_X86 1
#include <nmmintrin.h>
#endif

#define FJORD_CRC32C_POLY 0x82F63B78u

static uint32_t fjord_crc32c_table[8][256];

// Tables are built once, at load time, so no lazy-initialisation race exists between threads.
__attribute__((constructor)) static void fjord_crc32c_init_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) {
            crc = (crc & 1) ? (crc >> 1) ^ FJORD_CRC32C_POLY : crc >> 1;
        }
        fjord_crc32c_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = fjord_crc32c_table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = fjord_crc32c_table[0][crc & 0xFF] ^ (crc >> 8);
            fjord_crc32c_table[k][n] = crc;
        }
    }
}

static inline uint64_t fjord_load_le64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t fjord_crc32c_update_software(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    uint32_t c = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = fjord_crc32c_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t word = fjord_load_le64(p) ^ (uint64_t)c;
        c = fjord_crc32c_table[7][word & 0xFF] ^
            fjord_crc32c_table[6][(word >> 8) & 0xFF] ^
            fjord_crc32c_table[5][(word >> 16) & 0xFF] ^
            fjord_crc32c_table[4][(word >> 24) & 0xFF] ^
            fjord_crc32c_table[3][(word >> 32) & 0xFF] ^
            fjord_crc32c_table[2][(word >> 40) & 0xFF] ^
            fjord_crc32c_table[1][(word >> 48) & 0xFF] ^
            fjord_crc32c_table[0][word >> 56];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        c = fjord_crc32c_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
        len--;
    }
    return ~c;
}

#ifdef FJORD_CRC32C_X86

__attribute__((target("sse4.2"))) static uint32_t fjord_crc32c_sse42(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = (uint32_t)~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, sizeof word);
        c = _mm_crc32_u64(c, word);
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        len--;
    }
    return ~(uint32_t)c;
}

static int fjord_crc32c_has_sse42(void) {
    static int cached = -1;  // benign race: every thread computes the same value
    int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
    }
    return value;
}

int fjord_crc32c_hardware_available(void) {
    return fjord_crc32c_has_sse42();
}

uint32_t fjord_crc32c_update_hardware(uint32_t crc, const void *data, size_t len) {
    if (fjord_crc32c_has_sse42()) {
        return fjord_crc32c_sse42(crc, data, len);
    }
    return fjord_crc32c_update_software(crc, data, len);
}

uint32_t fjord_crc32c_update(uint32_t crc, const void *data, size_t len) {
    if (fjord_crc32c_has_sse42()) {
        return fjord_crc32c_sse42(crc, data, len);
    }
    return fjord_crc32c_update_software(crc, data, len);
}

#else

int fjord_crc32c_hardware_available(void) {
    return 0;
}

uint32_t fjord_crc32c_update_hardware(uint32_t crc, const void *data, size_t len) {
    return fjord_crc32c_update_software(crc, data, len);
}

uint32_t fjord_crc32c_update(uint32_t crc, const void *data, size_t len) {
    return fjord_crc32c_update_software(crc, data, len);
}

#endif
