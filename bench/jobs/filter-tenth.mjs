// The write path's overhead: a filter that keeps about 10% of 1BRC lines
// (those whose temperature's decimal digit is 7). With params.write it
// writes them (info.write); without, it only counts them, doing the same scan,
// so the difference between the two is what writing costs.
export default {
  split: 'lines',
  init: () => ({ kept: 0, bytes: 0 }),
  map(acc, bytes, info) {
    const write = info.params?.write === true;
    let at = 0;
    while (at < bytes.length) {
      let nl = bytes.indexOf(0x0a, at);
      if (nl < 0) nl = bytes.length - 1;
      if (bytes[nl - 1] === 0x37) {
        acc.kept++;
        acc.bytes += nl + 1 - at;
        if (write) info.write(bytes.subarray(at, nl + 1));
      }
      at = nl + 1;
    }
    return acc;
  },
  merge: (a, b) => ({ kept: a.kept + b.kept, bytes: a.bytes + b.bytes }),
};
