// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by Kafka record batch v2.
//
// The running value passed to and returned from the update functions is the *finalised* CRC:
// start with 0 and feed chunks in order; the result after the last chunk is the checksum.
// Chunked updates give the same result as one call over the concatenation.
#ifndef FJORD_CCRC32C_H
#define FJORD_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Updates `crc` with `len` bytes at `data`, using the SSE4.2 `crc32` instruction when the CPU has it.
uint32_t fjord_crc32c_update(uint32_t crc, const void *data, size_t len);

/// Same result as `fjord_crc32c_update`, always computed in software (slicing-by-8 tables).
uint32_t fjord_crc32c_update_software(uint32_t crc, const void *data, size_t len);

/// Same result as `fjord_crc32c_update`, always using the hardware instruction.
/// Only call when `fjord_crc32c_hardware_available()` returns non-zero; otherwise it falls back to software.
uint32_t fjord_crc32c_update_hardware(uint32_t crc, const void *data, size_t len);

/// Non-zero when the hardware path is compiled in and supported by this CPU.
int fjord_crc32c_hardware_available(void);

#ifdef __cplusplus
}
#endif

#endif
