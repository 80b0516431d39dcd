// The 1BRC summary written the way most people write it today: readline over a
// read stream, split each line, parseFloat, one Map of plain objects.
//
//   node bench/peers/readline-stats.mjs FILE   -> JSON [{ name, min, mean, max, count }] sorted by name
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const file = process.argv[2];
if (!file) {
  console.error('usage: readline-stats.mjs FILE');
  process.exit(2);
}

const stations = new Map();
const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
for await (const line of rl) {
  if (line === '') continue;
  const [name, text] = line.split(';');
  const value = parseFloat(text);
  const s = stations.get(name);
  if (s === undefined) {
    stations.set(name, { min: value, max: value, sum: value, count: 1 });
  } else {
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
    s.sum += value;
    s.count++;
  }
}

const rows = [...stations].map(([name, s]) => ({ name, min: s.min, mean: s.sum / s.count, max: s.max, count: s.count }));
rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
process.stdout.write(`${JSON.stringify(rows)}\n`);
