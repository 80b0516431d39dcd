// Fixed-size binary records: 16 bytes each, little-endian
//   uint32 sensor id | uint32 reserved | float64 reading
// Run:  npx pagewise run examples/sensor-records.mjs readings.bin
// Prints the count, sum, min and max reading per sensor.
export default {
  split: { recordSize: 16 },
  commutative: true,
  init: () => ({}),
  map(acc, bytes) {
    // A DataView over the mapping's pages: no copy, any alignment.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.byteLength; at += 16) {
      const id = view.getUint32(at, true);
      const value = view.getFloat64(at + 8, true);
      const s = (acc[id] ??= { count: 0, sum: 0, min: Infinity, max: -Infinity });
      s.count++;
      s.sum += value;
      if (value < s.min) s.min = value;
      if (value > s.max) s.max = value;
    }
    return acc;
  },
  merge(a, b) {
    for (const [id, s] of Object.entries(b)) {
      const t = a[id];
      if (!t) a[id] = s;
      else {
        t.count += s.count;
        t.sum += s.sum;
        t.min = Math.min(t.min, s.min);
        t.max = Math.max(t.max, s.max);
      }
    }
    return a;
  },
};
