// A keyed job (a group-by of any size): megabytes per user over access-log
// lines like "user=alice GET /index.html 5120". Every user comes out, in
// byte order of the names, however many users there are: tables that outgrow
// their share of the memory budget spill to --temp-dir and are merged back.
//   npx pagewise run examples/bytes-per-user.mjs access.log --output mb-per-user.jsonl
export default {
  keyed: true,
  map(emit, bytes) {
    for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
      const m = /^user=(\S+) \S+ \S+ (\d+)$/.exec(line);
      if (m) emit(m[1], Number(m[2])); // key: string or Uint8Array; value: number or structured-clonable
    }
  },
  combine: (a, b) => a + b, // associative and commutative
  finish: (user, bytes) => bytes / 1e6, // optional, once per key
};
