// Count HTTP status codes in an access log whose lines look like
//   2026-11-26T12:00:00Z GET /index.html 200 512
// Run:  npx pagewise run examples/status-codes.mjs access.log
// A plain JavaScript job: the status is the 4th space-separated field.
export default {
  split: 'lines',
  commutative: true, // counts add up in any order
  init() {
    return {};
  },
  map(acc, bytes) {
    let field = 0;
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x20) {
        field++;
        if (field === 3) start = i + 1;
        else if (field === 4) {
          // Parse the status as a number straight from the bytes: no strings per line.
          let code = 0;
          for (let j = start; j < i; j++) code = code * 10 + (bytes[j] - 0x30);
          acc[code] = (acc[code] ?? 0) + 1;
        }
      } else if (b === 0x0a) {
        field = 0;
      }
    }
    return acc;
  },
  merge(a, b) {
    for (const [code, n] of Object.entries(b)) a[code] = (a[code] ?? 0) + n;
    return a;
  },
};
