#pragma once
// CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2 (KIP-98).
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time) and a table
// otherwise. Pure functions, safe from any thread.
#include <cstddef>
#include <cstdint>
#include <span>

namespace eb::net {

// CRC-32C of `data`.
uint32_t crc32c(std::span<const uint8_t> data);
// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a + b).
uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data);

// The two implementations, exposed so tests can check both against known vectors.
uint32_t crc32c_extend_table(uint32_t crc, std::span<const uint8_t> data);
// Precondition: crc32c_hardware_available().
uint32_t crc32c_extend_hardware(uint32_t crc, std::span<const uint8_t> data);
bool crc32c_hardware_available();

}  // namespace eb::net
