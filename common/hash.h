/*
 * hash - FNV-1a (32 and 64 bit) over bytes, and a 64-bit finalizer: the one copy of the
 * hashes mailsift uses for hash tables, cache slots and keys.
 *
 * The values are a contract, not an implementation detail: the job store keeps
 * hash_mix64(hash_fnv1a64_str(key)) on disk (schema/store.c key_hash) and problem keys of
 * invalid cells carry hash_fnv1a64 in hex, so these functions must never change their output.
 * Not for secrets or anything an attacker must not steer. Pure functions, no state.
 */
#ifndef MAILSIFT_HASH_H
#define MAILSIFT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV32_INIT 2166136261u                 /* FNV-1a 32-bit offset basis */
/* The 64-bit basis mailsift has always used: one digit short of FNV's published
 * 14695981039346656037. Job stores hold key hashes made with it, so it stays as it is. */
#define HASH_FNV64_INIT 1469598103934665603ull

/* hash_fnv1a32_add - H continued over LEN bytes at P (start with HASH_FNV32_INIT) */
uint32_t hash_fnv1a32_add(uint32_t h, const void *p, size_t len);

/* hash_fnv1a32_str - 32-bit FNV-1a of the NUL-terminated string S */
uint32_t hash_fnv1a32_str(const char *s);

/* hash_fnv1a64_add - H continued over LEN bytes at P (start with HASH_FNV64_INIT) */
uint64_t hash_fnv1a64_add(uint64_t h, const void *p, size_t len);

/* hash_fnv1a64 - 64-bit FNV-1a of LEN bytes at P */
uint64_t hash_fnv1a64(const void *p, size_t len);

/* hash_fnv1a64_str - 64-bit FNV-1a of the NUL-terminated string S */
uint64_t hash_fnv1a64_str(const char *s);

/* hash_mix64 - murmur3's 64-bit finalizer minus its last multiply-shift: spreads the low
 * bits of an FNV value over the whole word (the job store's key_hash) */
uint64_t hash_mix64(uint64_t h);

#endif
