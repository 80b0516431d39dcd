// Sorted runs against hash partitions for the keyed shuffle's spills, with
// the shuffle's own parts (dist/): R tables of E/R distinct keys each, every
// key in two of them (as when distinct keys outnumber a table), spilled and
// then brought together in key order.
//   sorted: sort each table, write a run; merge all runs (a tree of losers).
//   hash:   scatter each table into P partition files by hash, unsorted; per
//           partition, read its pieces into a hash table, then sort it (the
//           output is in key order) - partitions come out in hash order, so a
//           caller wanting one key order would still merge P sorted lists.
// One thread, alternating A B per rep, best of reps.
//   node bench/micro/keyed-spill.mjs [ENTRIES=4e6] [RUNS=16] [PARTITIONS=16] [REPS=3]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newBatch, sortBatch, SortScratch } from '../../dist/src/keyed/batch.js';
import { writeBatch } from '../../dist/src/keyed/mapper.js';
import { Merger } from '../../dist/src/keyed/merge.js';
import { RunCursor, RunWriter } from '../../dist/src/keyed/runs.js';
import { KeyTable } from '../../dist/src/keyed/table.js';

const [E = 4e6, R = 16, P = 16, REPS = 3] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'pagewise-spill-ab-'));
const sum = (a, b) => a + b;

function word(v, out, at) {
  for (let k = 5; k >= 0; k--) {
    out[at + k] = 97 + (v % 26);
    v = Math.floor(v / 26);
  }
  return at + 6 + (v % 4);
}

/** Table r: keys i with i % R in {r, (r + 1) % R}, so each key is in two tables (E/2 distinct keys). */
function table(r) {
  const n = Math.floor(E / R);
  const b = newBatch(n, n * 12);
  let at = 0;
  for (let k = 0; k < n; k++) {
    const i = Math.floor(k / 2) * R + (k % 2 === 0 ? r : (r + 1) % R);
    const v = Math.imul(i + 1, 0x9e3779b1) >>> 7;
    const end = word(v % 308915776, b.keys, at);
    for (let q = at + 6; q < end; q++) b.keys[q] = 113;
    at = end;
    b.ends[k] = at;
    b.num[k] = 1;
  }
  b.n = n;
  return b;
}

function hashOf(keys, s, e) {
  let h = 0x811c9dc5;
  for (let q = s; q < e; q++) h = Math.imul(h ^ keys[q], 0x01000193);
  return h >>> 0;
}

function sorted() {
  const scratch = new SortScratch();
  let t = performance.now();
  const runs = [];
  for (let r = 0; r < R; r++) runs.push(writeBatch(table(r), join(dir, `s${r}.run`), scratch));
  const spill = performance.now() - t;
  t = performance.now();
  const m = new Merger(runs.map((run) => new RunCursor(run)), sum);
  while (m.next());
  return { spill, merge: performance.now() - t, keys: m.count };
}

function hash() {
  let t = performance.now();
  const pieces = Array.from({ length: P }, () => []);
  for (let r = 0; r < R; r++) {
    const b = table(r);
    const writers = Array.from({ length: P }, (_, p) => new RunWriter(join(dir, `h${r}-${p}.run`)));
    for (let i = 0; i < b.n; i++) {
      const s = i === 0 ? 0 : b.ends[i - 1];
      writers[hashOf(b.keys, s, b.ends[i]) % P].add(b.keys, s, b.ends[i] - s, false, true, b.num[i], undefined);
    }
    writers.forEach((w, p) => pieces[p].push(w.finish()));
  }
  const spill = performance.now() - t;
  t = performance.now();
  let keys = 0;
  for (let p = 0; p < P; p++) {
    const tableP = new KeyTable(sum, 2 ** 40, { full() {} }, (e) => { throw e; });
    for (const run of pieces[p]) {
      const c = new RunCursor(run);
      while (c.next()) tableP.add(c.key.subarray(0, c.keyLen), c.num);
      c.close();
    }
    const batch = tableP.toBatch();
    sortBatch(batch);
    keys += batch.n;
  }
  return { spill, merge: performance.now() - t, keys };
}

const best = { sorted: { spill: Infinity, merge: Infinity }, hash: { spill: Infinity, merge: Infinity } };
for (let rep = 0; rep < REPS; rep++) {
  for (const [name, fn] of [['sorted', sorted], ['hash', hash]]) {
    const r = fn();
    best[name].spill = Math.min(best[name].spill, r.spill);
    best[name].merge = Math.min(best[name].merge, r.merge);
    best[name].keys = r.keys;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
  }
}
for (const [name, r] of Object.entries(best)) console.log(`${name.padEnd(7)} spill ${r.spill.toFixed(0)} ms, merge ${r.merge.toFixed(0)} ms, keys ${r.keys}`);
rmSync(dir, { recursive: true, force: true });
