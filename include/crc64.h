/*
 * crc64.h — CRC-64 with the ISO 3309 polynomial, bit-compatible with Go's
 * hash/crc64 using crc64.MakeTable(crc64.ISO).
 *
 * Owns: the checksum tar-split stores for every file entry. Reflected
 * polynomial 0xD800000000000000, initial value ~0, final xor ~0. The check
 * value of the nine bytes "123456789" is 0xb90956c775a41001.
 *
 * Usage mirrors Go's crc64.Update: start from 0 and feed chunks; the value
 * returned after each call is the CRC of everything fed so far.
 *
 *     uint64_t crc = 0;
 *     crc = crc64_iso_update(crc, buf1, n1);
 *     crc = crc64_iso_update(crc, buf2, n2);
 */
#ifndef OVL2FSCK_CRC64_H
#define OVL2FSCK_CRC64_H

#include <stddef.h>
#include <stdint.h>

#define CRC64_ISO_POLY 0xD800000000000000ULL

/* Returns the CRC-64/ISO of the bytes fed so far plus buf[0..len). Thread-safe. */
uint64_t crc64_iso_update(uint64_t crc, const void *buf, size_t len);

#endif
