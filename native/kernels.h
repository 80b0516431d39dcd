// Byte kernels: the few hot scans JavaScript cannot do fast. Each has a
// portable version and, on x86-64, an AVX2 version chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pagewise {

// Number of bytes equal to `value` in [p, p + n).
uint64_t CountByte(const uint8_t* p, size_t n, uint8_t value);

// First occurrence of needle[0, m) in hay[0, n), or nullptr. m == 0 → hay.
const uint8_t* FindBytes(const uint8_t* hay, size_t n, const uint8_t* needle, size_t m);

// Number of maximal runs of bytes other than the six ASCII white-space bytes
// (space, \t, \n, \v, \f, \r): the words `wc` counts in the C locale.
uint64_t CountWords(const uint8_t* p, size_t n);

// Number of records (each ended by `terminator`, the last one possibly not)
// in [p, p + n) that contain needle[0, m): the grep -c kernel. Find the next
// hit, count it, skip past its record's end. The needle must not contain the
// terminator; an empty needle counts every record.
// Which versions of the kernels run on this CPU: "avx2" or "portable".
const char* KernelFlavor();

uint64_t CountRecordsContaining(const uint8_t* p, size_t n, const uint8_t* needle, size_t m, uint8_t terminator);

}  // namespace pagewise
